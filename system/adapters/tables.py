"""Azure Table Storage through azure-data-tables' async client, behind the EventStore port.

Upserts replace the whole entity (PUT): the (partition, row) key is the record's identity, so a
retried write lands on the same row and never duplicates it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableServiceClient

from system.ports import StoredRecord

_KEYS = ("PartitionKey", "RowKey")


class TableEventStore:
    """EventStore and Dependency. A table is created on the first write to it."""

    def __init__(self, connection_string: str, retries: int = 2) -> None:
        # The SDK's own retries are few and quick; callers retry with their own backoff.
        self._service = TableServiceClient.from_connection_string(
            connection_string, retry_total=retries, retry_backoff_factor=0.2
        )
        self._created: set[str] = set()

    async def upsert(self, record: StoredRecord) -> None:
        if record.table not in self._created:
            await self._service.create_table_if_not_exists(record.table)
            self._created.add(record.table)
        entity = {"PartitionKey": record.partition_key, "RowKey": record.row_key, **record.fields}
        table = self._service.get_table_client(record.table)
        try:
            await table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            # The table went away under us (deleted, or an emulator restarted): the next
            # attempt creates it again.
            self._created.discard(record.table)
            raise

    async def query(
        self,
        table: str,
        partition_key: str | None = None,
        after_row_key: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StoredRecord]:
        conditions: list[str] = []
        parameters: dict[str, Any] = {}
        if partition_key is not None:
            conditions.append("PartitionKey eq @pk")
            parameters["pk"] = partition_key
        if after_row_key is not None:
            conditions.append("RowKey gt @after")
            parameters["after"] = after_row_key
        client = self._service.get_table_client(table)
        entities = (
            client.query_entities(
                " and ".join(conditions), parameters=parameters, results_per_page=limit
            )
            if conditions
            else client.list_entities(results_per_page=limit)
        )
        count = 0
        try:
            async for entity in entities:
                if limit is not None and count >= limit:
                    return
                count += 1
                fields = {k: v for k, v in entity.items() if k not in _KEYS}
                yield StoredRecord(table, entity["PartitionKey"], entity["RowKey"], fields)
        except ResourceNotFoundError:
            return  # no table yet: nothing was ever written to it

    async def ping(self) -> None:
        async for _ in self._service.list_tables(results_per_page=1):
            break

    async def aclose(self) -> None:
        await self._service.close()
