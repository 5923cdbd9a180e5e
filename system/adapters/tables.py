"""Azure Table Storage through azure-data-tables' async client, behind the EventStore port.

Upserts replace the whole entity (PUT): the (partition, row) key is the record's identity, so a
retried write lands on the same row and never duplicates it.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from system.ports import StoredRecord

_KEYS = ("PartitionKey", "RowKey")
_PROPERTY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_BATCH = 100  # Table Storage's limit of operations per entity-group transaction
T = TypeVar("T")


def _entity(record: StoredRecord) -> dict[str, Any]:
    return {"PartitionKey": record.partition_key, "RowKey": record.row_key, **record.fields}


async def first(items: AsyncIterator[T], limit: int | None) -> AsyncIterator[T]:
    """The first `limit` items (all of them for None), without asking for one more: the pager
    would fetch and decode a whole further page to hand it over (a page of 50 anomalies is
    about 10 ms of the backend's event loop here)."""
    if limit is not None and limit <= 0:
        return
    taken = 0
    async for item in items:
        yield item
        taken += 1
        if taken == limit:
            return


class TableEventStore:
    """EventStore and Dependency. A table is created on the first write to it."""

    def __init__(self, connection_string: str, retries: int = 2) -> None:
        # The SDK's own retries are few and quick; callers retry with their own backoff.
        self._service = TableServiceClient.from_connection_string(
            connection_string, retry_total=retries, retry_backoff_factor=0.2
        )
        self._created: set[str] = set()

    async def _table(self, name: str) -> TableClient:
        if name not in self._created:
            await self._service.create_table_if_not_exists(name)
            self._created.add(name)
        return self._service.get_table_client(name)

    async def upsert(self, record: StoredRecord) -> None:
        table = await self._table(record.table)
        try:
            await table.upsert_entity(_entity(record), mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            # The table went away under us (deleted, or an emulator restarted): the next
            # attempt creates it again.
            self._created.discard(record.table)
            raise

    async def upsert_many(self, records: list[StoredRecord]) -> None:
        """Entity-group transactions: up to 100 upserts of one partition per request, each
        batch atomic; batches of different partitions go out concurrently."""
        groups: dict[tuple[str, str], dict[str, StoredRecord]] = defaultdict(dict)
        for record in records:  # a batch may not touch a row twice: the last write wins
            groups[record.table, record.partition_key][record.row_key] = record
        batches = []
        for (name, _), rows in groups.items():
            table = await self._table(name)
            group = list(rows.values())
            for start in range(0, len(group), _BATCH):
                operations: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
                    ("upsert", _entity(r), {"mode": UpdateMode.REPLACE})
                    for r in group[start : start + _BATCH]
                ]
                batches.append(table.submit_transaction(operations))
        try:
            await asyncio.gather(*batches)
        except ResourceNotFoundError:
            self._created.difference_update(name for name, _ in groups)
            raise

    async def query(
        self,
        table: str,
        partition_key: str | None = None,
        after_row_key: str | None = None,
        limit: int | None = None,
        since: tuple[str, datetime] | None = None,
    ) -> AsyncIterator[StoredRecord]:
        conditions: list[str] = []
        parameters: dict[str, Any] = {}
        if partition_key is not None:
            conditions.append("PartitionKey eq @pk")
            parameters["pk"] = partition_key
        if after_row_key is not None:
            conditions.append("RowKey gt @after")
            parameters["after"] = after_row_key
        if since is not None:
            field, moment = since
            if not _PROPERTY.fullmatch(field):  # it becomes part of the filter's text
                raise ValueError(f"not a property name: {field!r}")
            conditions.append(f"{field} ge @since")
            parameters["since"] = moment
        client = self._service.get_table_client(table)
        entities = (
            client.query_entities(
                " and ".join(conditions), parameters=parameters, results_per_page=limit
            )
            if conditions
            else client.list_entities(results_per_page=limit)
        )
        try:
            async for entity in first(entities, limit):
                fields = {k: v for k, v in entity.items() if k not in _KEYS}
                yield StoredRecord(table, entity["PartitionKey"], entity["RowKey"], fields)
        except ResourceNotFoundError:
            return  # no table yet: nothing was ever written to it

    async def ping(self) -> None:
        async for _ in self._service.list_tables(results_per_page=1):
            break

    async def aclose(self) -> None:
        await self._service.close()
