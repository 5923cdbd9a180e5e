"""The certificate the fake makes: a CA clients can trust and a server certificate for loopback."""

import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509

from fakes.keyvault.tls import make_tls


def test_the_server_certificate_names_loopback_and_chains_to_the_ca(tmp_path: Path) -> None:
    files = make_tls(tmp_path / "certs", "127.0.0.1")
    assert files.ca == tmp_path / "certs" / "ca.pem"
    server, ca = x509.load_pem_x509_certificates(files.cert.read_bytes())
    assert ca == x509.load_pem_x509_certificate(files.ca.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600


def test_python_ssl_loads_the_pair_and_trusts_the_ca(tmp_path: Path) -> None:
    files = make_tls(tmp_path, "127.0.0.1")
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(files.cert, files.key)
    client = ssl.create_default_context(cafile=files.ca)
    [ca] = client.get_ca_certs()
    assert ca["subject"] == ((("commonName", "spy-hybrid fake Key Vault CA"),),)
