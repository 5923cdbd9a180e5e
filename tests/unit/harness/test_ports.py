from harness.ports import free_port


def test_ports_chosen_before_any_server_binds_them_are_all_different() -> None:
    # A topology chooses its servers' ports up front: none may be handed out twice.
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
    assert all(20000 <= port < 32768 for port in ports)
