"""Key Vault get-secret latency through the real SDK over TLS: python -m fakes.keyvault.bench

Starts the fake as a subprocess on loopback, then times SecretClient.get_secret (sync client,
DefaultAzureCredential via the fake's managed identity, keep-alive TLS connection) and prints
one line with p50/p90/p99/max. A noisy shared machine moves these figures; rerun to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from harness.ports import free_port
from harness.process import ProcessSpec, log_line, running

IDENTITY_HEADER = "bench-identity-header"


def _measure(client: SecretClient, name: str, requests: int, warmup: int) -> list[float]:
    for _ in range(warmup):  # the challenge, the token, the TLS session, the code paths
        client.get_secret(name)
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get_secret(name)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.keyvault.bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="timed calls (%(default)s)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls (%(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keyvault-bench-") as tmp:
        run_dir = Path(tmp)
        port, identity_port = free_port(), free_port()
        argv = [
            sys.executable, "-m", "fakes.keyvault", "--port", str(port),
            "--cert-dir", str(run_dir / "certs"),
            "--identity-port", str(identity_port), "--identity-header", IDENTITY_HEADER,
        ]  # fmt: skip
        spec = ProcessSpec("keyvault", argv, log_line(r"^keyvault ready "))
        with running(spec, run_dir):
            # Only the loopback managed identity may answer the credential chain.
            for variable in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"):
                os.environ.pop(variable, None)
            os.environ["IDENTITY_ENDPOINT"] = f"http://127.0.0.1:{identity_port}/msi/token"
            os.environ["IDENTITY_HEADER"] = IDENTITY_HEADER
            with SecretClient(
                f"https://127.0.0.1:{port}",
                DefaultAzureCredential(),
                connection_verify=str(run_dir / "certs" / "ca.pem"),
                verify_challenge_resource=False,
            ) as client:
                client.set_secret("ibkr-password", "x" * 32)
                samples = _measure(client, "ibkr-password", args.requests, args.warmup)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    print(
        f"keyvault get_secret p99 {cuts[98]:.2f} ms "
        f"(p50 {cuts[49]:.2f}, p90 {cuts[89]:.2f}, max {max(samples):.2f} ms; "
        f"n={len(samples)}, sync SecretClient + DefaultAzureCredential, TLS on loopback)"
    )


if __name__ == "__main__":
    main()
