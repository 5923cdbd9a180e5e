"""python -m fakes.keyvault --host 127.0.0.1 --port P --cert-dir D [--identity-port Q]

Serves the vault over HTTPS with a CA made at start (written to D/ca.pem) and the managed-identity
token endpoint over plain HTTP. Prints one line when both serve:
  keyvault ready <vault url> ca_file=<D/ca.pem> identity_endpoint=<url> identity_header=<secret>
Clients: SecretClient(<vault url>, credential, connection_verify=<ca_file>,
verify_challenge_resource=False) with IDENTITY_ENDPOINT / IDENTITY_HEADER set from the line.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from fakes.common import Listener, add_listen_args, bind, serve
from fakes.keyvault.app import Vault, create_app
from fakes.keyvault.identity import TOKEN_PATH, TokenAuthority, identity_app
from fakes.keyvault.store import SecretStore
from fakes.keyvault.tls import make_tls


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fakes.keyvault",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_listen_args(parser)
    parser.add_argument("--cert-dir", type=Path, required=True, help="where ca.pem is written")
    parser.add_argument(
        "--identity-port", type=int, default=0, help="token endpoint port (default: a free one)"
    )
    parser.add_argument(
        "--identity-header",
        default=secrets.token_urlsafe(16),
        help="the X-IDENTITY-HEADER value the token endpoint requires (default: random)",
    )
    args = parser.parse_args()
    tls = make_tls(args.cert_dir, args.host)
    authority = TokenAuthority()
    vault = Listener(
        create_app(Vault(SecretStore(), authority)),
        bind(args.host, args.port),
        certfile=tls.cert,
        keyfile=tls.key,
    )
    identity = Listener(
        identity_app(authority, args.identity_header), bind(args.host, args.identity_port)
    )
    serve(
        [vault, identity],
        f"keyvault ready {vault.url} ca_file={tls.ca.resolve()} "
        f"identity_endpoint={identity.url}{TOKEN_PATH} identity_header={args.identity_header}",
    )


if __name__ == "__main__":
    main()
