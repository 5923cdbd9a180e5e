import socket

import pytest

from tests.loopback_guard import GUARD, NonLoopbackTraffic, is_loopback


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", None, "0.0.0.0"],  # noqa: S104
)
def test_loopback_hosts_are_allowed(host: object) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "10.0.0.1", "example.com", "8.8.8.8", "2001:db8::1"]
)
def test_other_hosts_are_not(host: str) -> None:
    assert not is_loopback(host)


def test_resolving_a_public_name_is_refused_and_recorded() -> None:
    with GUARD.expecting_violation() as seen, pytest.raises(NonLoopbackTraffic):
        socket.getaddrinfo("management.azure.com", 443)
    assert seen == ["non-loopback resolve refused: 'management.azure.com'"]


def test_connecting_to_the_metadata_address_is_refused() -> None:
    with (
        GUARD.expecting_violation() as seen,
        socket.socket() as sock,
        pytest.raises(NonLoopbackTraffic),
    ):
        sock.connect(("169.254.169.254", 80))
    assert len(seen) == 1


def test_loopback_connections_still_work() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
