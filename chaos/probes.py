"""What drills look at: Chaos Toolkit probes (`"module": "chaos.probes"`).

Probes return facts (is it answering, what is on the link, which orders broke an invariant);
the steady-state hypothesis compares them with a tolerance. Inside a method or a rollback,
where Chaos Toolkit has no tolerance, `expect` checks one of them and fails the activity when
it does not hold: that is how a drill proves its fault took effect while on and was cleaned
up after. With `within_s`, `expect` waits for it and reports how long that took, which is the
drill's time to recover.
"""

from __future__ import annotations

import inspect
import socket
import sqlite3
import ssl
import struct
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import TableServiceClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaos import topology
from chaos.topology import Configuration
from harness import components, vpn
from harness.events import EventLog
from harness.late_trades import late_trades
from harness.ports import LOOPBACK
from harness.state import TopologyState
from harness.topology import Link

EDGE_STORE = Path("data") / "ledger.sqlite"  # a bot pod's ledger and outbox, in its folder


# What each kind of link is asked so that its server answers: the TWS API handshake, or HTTP.
def _tls_client_hello() -> bytes:
    """A TLS ClientHello, which a TLS server answers with its ServerHello: an HTTP hello it
    would refuse by closing, and a close crosses Toxiproxy without the link's latency."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    outgoing = ssl.MemoryBIO()
    client = context.wrap_bio(ssl.MemoryBIO(), outgoing)
    with suppress(ssl.SSLWantReadError):  # it wrote its hello and waits for the server's
        client.do_handshake()
    return outgoing.read()


# What each kind of port answers with its first byte.
_HELLOS = {
    "api": b"API\0" + struct.pack(">I", 9) + b"v157..178",  # IB's API handshake
    "https": _tls_client_hello(),
}
_HTTP_HELLO = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


# -- instances ------------------------------------------------------------------------------
def instance_running(instance: str, configuration: Configuration | None = None) -> bool:
    """The supervisor's process for it is alive and every port it serves accepts connections."""
    record = topology.instance(topology.load(configuration), instance)
    return record.is_ours() and record.listening()


def stopped_instances(component: str, configuration: Configuration | None = None) -> list[str]:
    """The replicas of a component that are not running (see `instance_running`)."""
    state = topology.load(configuration)
    return [
        name
        for name in topology.instances_of(state, component)
        if not instance_running(name, configuration)
    ]


def exited_since_kill(instance: str, configuration: Configuration | None = None) -> bool:
    """The supervisor saw the instance's process end after the last kill sent to it."""
    state = topology.load(configuration)
    events = EventLog(Path(state.run_dir) / "events.jsonl").read()
    kills = [i for i, e in enumerate(events) if e["kind"] == "killed" and e["subject"] == instance]
    return bool(kills) and any(
        e["kind"] == "exited" and e["subject"] == instance for e in events[kills[-1] + 1 :]
    )


def _redis(state: TopologyState, instance: str) -> redis.Redis:
    """One look, no retries: a drill wants to see the outage, not wait it out."""
    port = topology.instance(state, instance).ports["redis"]
    return redis.Redis(
        LOOPBACK,
        port,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def redis_answers(instance: str, configuration: Configuration | None = None) -> bool:
    with _redis(topology.load(configuration), instance) as client:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


def table_storage_answers(instance: str, configuration: Configuration | None = None) -> bool:
    with _tables(topology.load(configuration), instance) as service:
        try:
            next(iter(service.list_tables()), None)
        except AzureError:
            return False
    return True


def http_answers(
    instance: str, port: str, path: str, configuration: Configuration | None = None
) -> bool:
    """GET on one of the instance's ports returns 200."""
    base = topology.url(topology.load(configuration), instance, port)
    try:
        return httpx.get(base + path, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# -- VPN links ------------------------------------------------------------------------------
def _round_trip_ms(state: TopologyState, link: Link, timeout_s: float) -> float | None:
    """Connect through the link, say hello, wait for the first byte back (or the server closing
    the connection); None when nothing came back: a black hole or a disabled link."""
    hello = _HELLOS.get(link.target.port, _HTTP_HELLO)
    started = time.perf_counter()
    port = topology.listen_port(state, link.name)
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as sock:
            sock.sendall(hello)
            sock.recv(1)
    except OSError:  # refused, reset or timed out
        return None
    return (time.perf_counter() - started) * 1000


def silent_links(
    link: str, timeout_s: float = 1.0, configuration: Configuration | None = None
) -> list[str]:
    """The links through which nothing came back within the timeout."""
    state = topology.load(configuration)
    return [
        each.name
        for each in topology.links(state, link)
        if _round_trip_ms(state, each, timeout_s) is None
    ]


def answering_links(
    link: str, timeout_s: float = 1.0, configuration: Configuration | None = None
) -> list[str]:
    """The links through which an answer came back within the timeout."""
    state = topology.load(configuration)
    return [
        each.name
        for each in topology.links(state, link)
        if _round_trip_ms(state, each, timeout_s) is not None
    ]


def _round_trips_ms(state: TopologyState, link: str, timeout_s: float) -> list[float]:
    """A hello round trip over each chosen link; fails if one stays silent."""
    links = topology.links(state, link)
    trips = {each.name: _round_trip_ms(state, each, timeout_s) for each in links}
    silent = [name for name, ms in trips.items() if ms is None]
    if silent:
        raise RuntimeError(f"no answer within {timeout_s:g} s through {', '.join(silent)}")
    return [ms for ms in trips.values() if ms is not None]


def slowest_round_trip_ms(
    link: str, timeout_s: float = 5.0, configuration: Configuration | None = None
) -> float:
    """The slowest hello round trip over the chosen links: are they all fast?"""
    return round(max(_round_trips_ms(topology.load(configuration), link, timeout_s)), 3)


def fastest_round_trip_ms(
    link: str, timeout_s: float = 5.0, configuration: Configuration | None = None
) -> float:
    """The fastest hello round trip over the chosen links: are they all slow?"""
    return round(min(_round_trips_ms(topology.load(configuration), link, timeout_s)), 3)


def link_faults(link: str, configuration: Configuration | None = None) -> list[str]:
    """Whatever on the chosen links differs from the profile the topology started with:
    a toxic the profile does not have, a profile toxic with other values, one missing."""
    state = topology.load(configuration)
    faults = []
    with topology.toxiproxy(state) as api:
        for each in topology.links(state, link):
            present = {toxic["name"]: toxic for toxic in api.toxics(each.name)}
            expected = {
                name: attributes
                for name, (_stream, _kind, attributes) in vpn.profile_toxics(
                    each, state.started_profile
                ).items()
            }
            for name, toxic in present.items():
                want = expected.get(name)
                got = {key: toxic["attributes"].get(key) for key in want or {}}
                if want is None:
                    faults.append(f"{each.name}: {name} ({toxic['type']})")
                elif got != want:
                    faults.append(f"{each.name}: {name} is {got}, the profile says {want}")
            faults += [f"{each.name}: {name} missing" for name in expected.keys() - present]
    return faults


# -- the gateway's records ------------------------------------------------------------------
def _gateway_orders(state: TopologyState, gateway: str) -> list[dict[str, Any]]:
    admin = topology.url(state, gateway, "admin")
    return list(httpx.get(f"{admin}/orders", timeout=5).raise_for_status().json())


def gateway_health(state: TopologyState, gateway: str) -> dict[str, Any]:
    admin = topology.url(state, gateway, "admin")
    return dict(httpx.get(f"{admin}/health", timeout=5).raise_for_status().json())


def gateway_status(gateway: str, configuration: Configuration | None = None) -> str:
    """`ok`, or `restarting` while a restart fault lasts."""
    return str(gateway_health(topology.load(configuration), gateway)["status"])


def gateway_connections(gateway: str, configuration: Configuration | None = None) -> int:
    """API clients the gateway has admitted now (their startApi done), by client id: a bare
    TCP connection, a health check's or a refused client's, does not count."""
    return len(gateway_health(topology.load(configuration), gateway)["clients"])


def order_count(gateway: str, configuration: Configuration | None = None) -> int:
    """Orders the gateway has received (an invariant over no order proves little)."""
    return len(_gateway_orders(topology.load(configuration), gateway))


def duplicate_orders(gateway: str, configuration: Configuration | None = None) -> list[str]:
    """Signal ids (orderRef) the gateway received more than one order for."""
    orders = _gateway_orders(topology.load(configuration), gateway)
    counts = Counter(order["orderRef"] for order in orders if order["orderRef"])
    return sorted(ref for ref, count in counts.items() if count > 1)


def slowest_ack_ms(
    gateway: str, window_s: float, configuration: Configuration | None = None
) -> float:
    """The slowest placeOrder-to-ack time of the orders received in the last `window_s`
    (an order still unacknowledged counts until now); 0 when there were none."""
    now_ns = time.time_ns()
    since_ns = now_ns - int(window_s * 1e9)
    orders = _gateway_orders(topology.load(configuration), gateway)
    acks = [
        ((order["acked_at_ns"] or now_ns) - order["received_at_ns"]) / 1e6
        for order in orders
        if order["received_at_ns"] >= since_ns
    ]
    return round(max(acks, default=0.0), 3)


def latest_ack_ms(
    gateway: str, window_s: float, configuration: Configuration | None = None
) -> float | None:
    """The placeOrder-to-ack time of the last order received in the last `window_s`; None while
    it waits for its ack or when no order came in that time."""
    since_ns = time.time_ns() - int(window_s * 1e9)
    orders = _gateway_orders(topology.load(configuration), gateway)
    recent = [order for order in orders if order["received_at_ns"] >= since_ns]
    if not recent:
        return None
    latest = max(recent, key=lambda order: order["received_at_ns"])
    acked = latest["acked_at_ns"]
    return None if acked is None else round((acked - latest["received_at_ns"]) / 1e6, 3)


# -- the edge: lease, ledger, outbox --------------------------------------------------------
def lease_holder(
    redis_instance: str, lease_key: str, configuration: Configuration | None = None
) -> str | None:
    """The instance holding the leader lease: the key holds "<holder>:<fencing token>"."""
    with _redis(topology.load(configuration), redis_instance) as client:
        value = client.get(lease_key)
    return None if value is None else str(value).rsplit(":", 1)[0]


def leader_running(
    component: str, redis_instance: str, lease_key: str, configuration: Configuration | None = None
) -> bool:
    """A running replica of the component holds the lease."""
    state = topology.load(configuration)
    holder = lease_holder(redis_instance, lease_key, configuration)
    return holder in topology.instances_of(state, component) and instance_running(
        holder, configuration
    )


def _edge_rows(state: TopologyState, component: str, query: str) -> list[sqlite3.Row]:
    rows: list[sqlite3.Row] = []
    for name in topology.instances_of(state, component):
        path = Path(state.run_dir) / name / EDGE_STORE
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as store:
            store.row_factory = sqlite3.Row
            rows += store.execute(query).fetchall()
    return rows


def trades_on_expired_signals(
    gateway: str, component: str, configuration: Configuration | None = None
) -> list[str]:
    """Signal ids traded after they expired (see harness.late_trades)."""
    state = topology.load(configuration)
    expiry_ns = {
        row["id"]: int(datetime.fromisoformat(row["expires_at"]).timestamp() * 1e9)
        for row in _edge_rows(state, component, "SELECT id, expires_at FROM signals")
    }
    admin = topology.url(state, gateway, "admin")
    fills = httpx.get(f"{admin}/executions", timeout=5).raise_for_status().json()
    return late_trades(expiry_ns, _gateway_orders(state, gateway), fills)


def lost_telemetry_records(
    component: str, table_storage: str, grace_s: float, configuration: Configuration | None = None
) -> list[str]:
    """Outbox records older than `grace_s` that Table Storage does not hold (table/pk/rk)."""
    state = topology.load(configuration)
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_s)
    queued = [
        row
        for row in _edge_rows(state, component, "SELECT id, tbl, pk, rk, created_at FROM outbox")
        if datetime.fromisoformat(row["created_at"]) < cutoff
    ]
    stored: dict[str, set[tuple[str, str]]] = {}
    with _tables(state, table_storage) as service:
        for table in {row["tbl"] for row in queued}:
            entities = service.get_table_client(table).list_entities(
                select=["PartitionKey", "RowKey"]
            )
            try:
                stored[table] = {(e["PartitionKey"], e["RowKey"]) for e in entities}
            except ResourceNotFoundError:
                stored[table] = set()
    return sorted(row["id"] for row in queued if (row["pk"], row["rk"]) not in stored[row["tbl"]])


def _tables(state: TopologyState, instance: str) -> TableServiceClient:
    port = topology.instance(state, instance).ports["table"]
    return TableServiceClient.from_connection_string(
        components.azurite_connection_string(port),
        retry_total=0,
        connection_timeout=2,
        read_timeout=2,
    )


# -- expectations inside a method or a rollback ---------------------------------------------
CHECKS: dict[str, Callable[..., Any]] = {
    probe.__name__: probe
    for probe in (
        instance_running,
        stopped_instances,
        exited_since_kill,
        redis_answers,
        table_storage_answers,
        http_answers,
        silent_links,
        answering_links,
        slowest_round_trip_ms,
        fastest_round_trip_ms,
        link_faults,
        gateway_status,
        gateway_connections,
        order_count,
        duplicate_orders,
        slowest_ack_ms,
        latest_ack_ms,
        lease_holder,
        leader_running,
        trades_on_expired_signals,
        lost_telemetry_records,
    )
}


def check_expectation(
    check: str,
    arguments: dict[str, Any],
    equals: Any = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Callable[[Any], bool]:
    """The condition `expect` waits for; a ValueError names what is wrong with it."""
    if check not in CHECKS:
        raise ValueError(f"expect: no probe {check!r}; probes: {', '.join(CHECKS)}")
    try:
        inspect.signature(CHECKS[check]).bind(**arguments)
    except TypeError as error:
        raise ValueError(f"expect: {check}: {error}") from None
    given = [c for c in (equals, at_least, at_most) if c is not None]
    if len(given) != 1:
        raise ValueError(f"expect: {check}: give exactly one of equals, at_least, at_most")
    if equals is not None:
        return lambda value: bool(value == equals)
    if at_least is not None:
        return lambda value: value is not None and value >= at_least
    return lambda value: value is not None and value <= at_most


def expect(
    check: str,
    arguments: dict[str, Any],
    equals: Any = None,
    at_least: float | None = None,
    at_most: float | None = None,
    within_s: float = 0.0,
    configuration: Configuration | None = None,
) -> dict[str, Any]:
    """Look at a probe until its value meets the expectation, for up to `within_s` seconds;
    fail with what it saw if it never does. Returns the value and how long it took."""
    holds = check_expectation(check, arguments, equals, at_least, at_most)
    wanted = next(
        f"{word} {value!r}"
        for word, value in (("==", equals), (">=", at_least), ("<=", at_most))
        if value is not None
    )
    started = time.monotonic()
    while True:
        value = CHECKS[check](**arguments, configuration=configuration)
        waited = time.monotonic() - started
        if holds(value):
            return {"value": value, "after_s": round(waited, 3)}
        if waited >= within_s:
            raise AssertionError(
                f"{check}({arguments}) is {value!r}, expected {wanted}"
                + (f" within {within_s:g} s" if within_s else "")
            )
        time.sleep(0.1)
