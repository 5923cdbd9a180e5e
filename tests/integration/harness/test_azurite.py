"""Azurite as the harness runs it: what it acknowledged survives a stop and a start."""

from pathlib import Path

from azure.data.tables import TableServiceClient

from harness import components
from harness.ports import free_port
from harness.process import start


def test_a_stopped_azurite_keeps_every_write_it_acknowledged(tmp_path: Path) -> None:
    port = free_port()
    spec = components.azurite(port, tmp_path / "azurite")
    connection = components.azurite_connection_string(port)
    proc = start(spec, tmp_path / "logs")
    try:
        with TableServiceClient.from_connection_string(connection) as service:
            table = service.create_table("kept")
            table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "value": 1})
        proc.stop()  # at once: well within the 5 s between its own saves
        proc = start(spec, tmp_path / "logs")
        with TableServiceClient.from_connection_string(connection) as service:
            entity = service.get_table_client("kept").get_entity("p", "r")
        assert entity["value"] == 1
    finally:
        proc.stop()
