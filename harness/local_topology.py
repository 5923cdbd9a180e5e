"""The local topology: every component of spy-hybrid as a loopback process, in one place.

Cloud: Azurite (Table Storage), the SignalR and Key Vault fakes, the backend with the detector
(or the detector apart, as the environment's Terraform runs it in Container Instances).
Edge: the IB Gateway simulator, Redis, the bot replicas with their forwarder sidecars. Internet:
the SendGrid and Telegram fakes, which the edge reaches directly, not over the VPN.
Replicas, rollout strategy, grace period and the VPN profile come from the rendered chart values
of the environment, the same source the cluster deployment uses; where the detector runs, from
its terraform.tfvars (`container_instances_enabled`). Credentials are fresh per run.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import redis
import yaml
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from harness import components
from harness.chart_values import DeploymentSettings, deployment_settings
from harness.cost import hcl_value, load_hcl
from harness.cpu_placement import CpuMode
from harness.errors import HarnessError
from harness.process import ProcessSpec, http, log_line
from harness.supervisor import Supervisor
from harness.toolchain import ROOT
from harness.topology import Component, RollingUpdate, Side, Topology, Use, Wiring
from harness.vpn import VpnProfile
from system.adapters.notify_sendgrid import SendGridNotifier
from system.ports import Alert
from system.services.bot.settings import LEASE_KEY

PYTHON = sys.executable
RELEASES = Path(__file__).with_name("releases.yaml")
TELEGRAM_OPERATOR_CHAT = 1001
OPERATOR_EMAIL = "operator@example.com"
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True, slots=True)
class LocalCredentials:
    """Made fresh per run: nothing in a run folder works against anything real."""

    sendgrid_api_key: str
    telegram_token: str
    signalr_access_key: str
    backend_api_key: str  # what operators, bots and load tests present to the backend
    identity_header: str  # the managed-identity endpoint's shared secret
    ibkr_credential: str  # what the gateway accepts from the bots; rotated in scenarios

    def save(self, run_dir: Path) -> None:
        """For `spyh` commands on a running topology; readable by this user only."""
        path = run_dir / CREDENTIALS_FILE
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, run_dir: Path) -> LocalCredentials:
        path = run_dir / CREDENTIALS_FILE
        if not path.exists():
            raise HarnessError(f"no credentials in {run_dir}: is a topology up?")
        return cls(**json.loads(path.read_text()))

    @classmethod
    def generate(cls) -> LocalCredentials:
        return cls(
            sendgrid_api_key="SG." + secrets.token_urlsafe(16) + "." + secrets.token_urlsafe(32),
            telegram_token=f"{secrets.randbelow(9 * 10**8) + 10**8}:{secrets.token_urlsafe(26)}",
            signalr_access_key=secrets.token_urlsafe(32),
            backend_api_key=secrets.token_urlsafe(24),
            identity_header=secrets.token_urlsafe(16),
            ibkr_credential=secrets.token_urlsafe(16),
        )


def release_strategy(release: str) -> str:
    """The strategy file a bot release ships (its ConfigMap), from harness/releases.yaml."""
    catalog: dict[str, dict[str, str]] = yaml.safe_load(RELEASES.read_text())
    if release not in catalog:
        raise HarnessError(f"no release {release!r}; known: {', '.join(catalog)}")
    return catalog[release]["strategy"]


def rolling_update(settings: DeploymentSettings) -> RollingUpdate:
    """maxSurge rounds up and maxUnavailable down, as Kubernetes resolves percentages."""

    def resolve(value: int | str, round_up: bool) -> int:
        if isinstance(value, int):
            return value
        share = settings.replicas * float(value.rstrip("%")) / 100
        return math.ceil(share) if round_up else math.floor(share)

    return RollingUpdate(
        max_surge=resolve(settings.max_surge, round_up=True),
        max_unavailable=resolve(settings.max_unavailable, round_up=False),
        progress_deadline_s=settings.progress_deadline_seconds,
        revision_history_limit=settings.revision_history_limit,
    )


def vpn_profile(settings: DeploymentSettings) -> VpnProfile:
    link = settings.vpn
    return VpnProfile(
        edge_to_cloud_ms=round(link.edge_to_cloud.latency_ms),
        cloud_to_edge_ms=round(link.cloud_to_edge.latency_ms),
        jitter_ms=round(max(link.edge_to_cloud.jitter_ms, link.cloud_to_edge.jitter_ms)),
        bandwidth_kbytes_s=link.bandwidth_kbytes_per_s,
    )


@dataclass(frozen=True, slots=True)
class LocalTopology:
    topology: Topology
    profile: VpnProfile
    credentials: LocalCredentials
    settings: DeploymentSettings

    def supervise(
        self, run_dir: Path, profile: VpnProfile, env: str, cpus: CpuMode = CpuMode.SPLIT
    ) -> Supervisor:
        """A supervisor for this topology, with what the cluster around it does: deployment
        alerts by email, and the bot holding the lease on the signal path's CPUs."""
        supervisor = Supervisor(self.topology, run_dir, profile, env, cpus=cpus)
        supervisor.alert = self.deployment_alerts(supervisor.address_from)
        supervisor.joins_path = lease_holder(supervisor.address_from)
        return supervisor

    def deployment_alerts(
        self, address_from: Callable[[Side, Use], tuple[str, int]]
    ) -> Callable[[Alert], None]:
        """What the CD pipeline's notification step does: email the operators, with the
        system's own SendGrid adapter."""

        def send(alert: Alert) -> None:
            host, port = address_from("internet", Use("sendgrid", "http"))
            notifier = SendGridNotifier(
                self.credentials.sendgrid_api_key,
                "deployments@spy-hybrid.local",
                [OPERATOR_EMAIL],
                base_url=f"http://{host}:{port}",
            )

            async def deliver() -> None:
                try:
                    await notifier.notify(alert)
                finally:
                    await notifier.aclose()

            asyncio.run(deliver())

        return send


def detector_apart(env: str, envs: Path = ROOT / "infra" / "envs") -> bool:
    """Whether `env` runs the detector apart from the backend (Container Instances), as its
    terraform.tfvars say."""
    tfvars = envs / env / "terraform.tfvars"
    if not tfvars.is_file():
        raise HarnessError(f"no {tfvars}: environment {env!r} is not deployable")
    flag = hcl_value(load_hcl([tfvars])[tfvars].get("container_instances_enabled", False))
    return flag is True


def build(env: str, apart: bool | None = None) -> LocalTopology:
    """`apart`: the detector as a process of its own (None: as the environment deploys it)."""
    settings = deployment_settings(env)  # type: ignore[arg-type]  # validated inside
    apart = detector_apart(env) if apart is None else apart
    credentials = LocalCredentials.generate()
    signalr_use = Use("signalr", "http")
    # Table Storage writes are retried with backoff (the backend's stores, the forwarders'
    # batches): its clients need not wait for Azurite, whose start varies from 2 to 7 s here.
    tables_use = Use("azurite", "table", retried=True)
    vault_use, identity_use = Use("keyvault", "https"), Use("keyvault", "identity")
    # The bots' and the watchdog's SignalR sessions negotiate through the backend and retry
    # with backoff: they start beside it, not after it (their imports take seconds).
    backend_use = Use("backend", "http", retried=True)

    def azurite(w: Wiring) -> ProcessSpec:
        return components.azurite(w.ports["table"], w.run_dir / w.instance)

    def redis(w: Wiring) -> ProcessSpec:
        return components.redis(w.ports["redis"], w.run_dir / w.instance)

    def signalr(w: Wiring) -> ProcessSpec:
        key = credentials.signalr_access_key
        argv = _fake("signalr", "--port", str(w.ports["http"]), f"--access-key={key}")
        return ProcessSpec(w.instance, argv, log_line(r"^Endpoint=http://"))

    def keyvault(w: Wiring) -> ProcessSpec:
        argv = _fake(
            "keyvault",
            "--port",
            str(w.ports["https"]),
            "--cert-dir",
            str(_ca(w).parent),
            "--identity-port",
            str(w.ports["identity"]),
            f"--identity-header={credentials.identity_header}",
        )
        return ProcessSpec(w.instance, argv, log_line(r"^keyvault ready "))

    def seed_vault(w: Wiring) -> None:
        """The run's secrets, as a deployment's Key Vault holds them. SignalR's ClientEndpoint
        and the edge's Table Storage address are the ways in over the VPN link; the backend
        reaches both directly, as App Service reaches them inside Azure."""
        connection = (
            f"Endpoint={w.url(signalr_use, side='cloud')};"
            f"ClientEndpoint={w.url(signalr_use, side='edge')};"
            f"AccessKey={credentials.signalr_access_key};Version=1.0;"
        )
        tables_port = {side: w.address_from(side, tables_use)[1] for side in ("cloud", "edge")}
        credentials.save(w.run_dir)
        with _vault(w, credentials) as vault:
            for name, value in {
                "backend-api-keys": credentials.backend_api_key,
                "backend-api-key": credentials.backend_api_key,
                "signalr-connection-string": connection,
                "tables-connection-string": components.azurite_connection_string(
                    tables_port["cloud"]
                ),
                "edge-tables-connection-string": components.azurite_connection_string(
                    tables_port["edge"]
                ),
                "ibkr-credential": credentials.ibkr_credential,
                "telegram-bot-token": credentials.telegram_token,
                "sendgrid-api-key": credentials.sendgrid_api_key,
            }.items():
                vault.set_secret(name, value)

    def tws(w: Wiring) -> ProcessSpec:
        state = w.run_dir / w.instance / "state.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        ports = ["--port", str(w.ports["api"]), "--admin-port", str(w.ports["admin"])]
        argv = _fake("tws", *ports, "--seed", "7", "--state-file", str(state))
        return ProcessSpec(w.instance, argv, log_line(r"^fakes\.tws ready"))

    def sendgrid(w: Wiring) -> ProcessSpec:
        key = credentials.sendgrid_api_key
        # A paid plan's quota: the free tier's 100 a day lasts seconds once every fill is
        # confirmed by email at scenario rates.
        quota = ["--daily-quota", "1000000"]
        argv = _fake("sendgrid", "--port", str(w.ports["http"]), f"--api-key={key}", *quota)
        return ProcessSpec(w.instance, argv, log_line(r"^sendgrid ready "))

    def telegram(w: Wiring) -> ProcessSpec:
        token = credentials.telegram_token
        argv = _fake("telegram", "--port", str(w.ports["http"]), f"--token={token}")
        return ProcessSpec(w.instance, argv, log_line(r"^telegram ready "))

    def require_credential(w: Wiring) -> None:
        """The gateway accepts only the run's IBKR credential, as a logged-in Gateway would."""
        url = f"http://127.0.0.1:{w.ports['admin']}/credential"
        httpx.post(
            url, json={"credential": credentials.ibkr_credential}, timeout=5
        ).raise_for_status()

    def cloud_env(prefix: str, w: Wiring) -> dict[str, str]:
        """What the backend and the detector service share: Key Vault, the gateway, telemetry."""
        ib_host, ib_port = w.address_of(Use("tws", "api"))
        settings = {
            "PORT": str(w.ports["http"]),
            "KEYVAULT_URL": w.url(vault_use, "https"),
            "KEYVAULT_CA_FILE": str(_ca(w)),
            "KEYVAULT_VERIFY_CHALLENGE_RESOURCE": "false",
            "MARKET_SOURCE": "ib",
            "IB_HOST": ib_host,
            "IB_PORT": str(ib_port),
            "IB_CREDENTIAL_SECRET": "ibkr-credential",
            "TELEMETRY": "file",
            "TELEMETRY_DIR": str(w.run_dir / "telemetry" / w.instance),
        }
        env = {prefix + name: value for name, value in settings.items()}
        return {**_identity_env(w, credentials), **env}

    def backend(w: Wiring) -> ProcessSpec:
        env = {
            **cloud_env("SPY_BACKEND_", w),
            "SPY_BACKEND_RUN_DETECTOR": str(not apart).lower(),
            "SPY_BACKEND_SIGNAL_POLL_S": "0.5",  # with the detector apart: /api/signals is live
            "SPY_BACKEND_DASHBOARD": "true",
            "SPY_BACKEND_LATENCY_INTERVAL_S": "2",  # with the bots' 5 s samples: a live panel
        }
        argv = [PYTHON, "-m", "system.services.backend"]
        return ProcessSpec(w.instance, argv, log_line(r"^backend ready on "), env=env)

    def detector(w: Wiring) -> ProcessSpec:
        argv = [PYTHON, "-m", "system.services.detector"]
        env = cloud_env("SPY_DETECTOR_", w)
        return ProcessSpec(w.instance, argv, log_line(r"^detector ready on "), env=env)

    def bot(w: Wiring) -> ProcessSpec:
        strategy = w.run_dir / "config" / w.release / "strategy.yaml"  # one ConfigMap a release
        strategy.parent.mkdir(parents=True, exist_ok=True)
        if not strategy.exists():
            strategy.write_text(release_strategy(w.release))
        env = {
            **_edge_secrets("SPY_BOT_", w, credentials),
            "SPY_BOT_REPLICA_ID": w.instance,
            "SPY_BOT_HTTP_PORT": str(w.ports["http"]),
            "SPY_BOT_DATA_DIR": str(_data(w)),
            "SPY_BOT_STRATEGY_FILE": str(strategy),
            "SPY_BOT_BACKEND_URL": w.url(Use("backend", "http")),
            "SPY_BOT_REDIS_URL": _redis_url(w),
            "SPY_BOT_IB_PORT": str(w.address_of(Use("tws", "api"))[1]),
            "SPY_BOT_IB_CREDENTIAL_SECRET": "ibkr-credential",
            "SPY_BOT_CREDENTIAL_CHECK_S": "2",
            "SPY_BOT_TELEGRAM_TOKEN_SECRET": "telegram-bot-token",
            "SPY_BOT_TELEGRAM_BASE_URL": w.url(Use("telegram", "http")),
            "SPY_BOT_TELEGRAM_CHAT_IDS": f"[{TELEGRAM_OPERATOR_CHAT}]",
            "SPY_BOT_TELEGRAM_POLL_S": "5",
            "SPY_BOT_SENDGRID_API_KEY_SECRET": "sendgrid-api-key",
            "SPY_BOT_SENDGRID_BASE_URL": w.url(Use("sendgrid", "http")),
            "SPY_BOT_EMAIL_TO": json.dumps([OPERATOR_EMAIL]),
            "SPY_BOT_METRICS_SAMPLE_S": "5",
            # As the chart does: the bot finishes 5 s inside the pod's termination grace.
            "SPY_BOT_SHUTDOWN_GRACE_S": str(settings.termination_grace_period_seconds - 5),
        }
        argv = [PYTHON, "-m", "system.services.bot"]
        grace = settings.termination_grace_period_seconds
        # Ready as the chart's readinessProbe says (/ready: subscribed to the hub, Redis
        # reachable): a rollout that took "serving" for ready stopped the old leader before
        # its successor was subscribed, and a signal went untraded.
        return ProcessSpec(
            w.instance,
            argv,
            http(f"http://127.0.0.1:{w.ports['http']}/ready"),
            env=env,
            start_timeout_s=60,
            stop_grace_s=grace,
        )

    def forwarder(w: Wiring) -> ProcessSpec:
        env = {
            **_edge_secrets("SPY_FWD_", w, credentials),
            "SPY_FWD_STORE_FILE": str(_data(w) / "ledger.sqlite"),
            "SPY_FWD_TABLES_SECRET": "edge-tables-connection-string",
            "SPY_FWD_HTTP_PORT": str(w.ports["forwarder"]),
        }
        argv = [PYTHON, "-m", "system.services.forwarder"]
        return ProcessSpec("forwarder", argv, log_line(r"^forwarder ready "), env=env)

    def watchdog(w: Wiring) -> ProcessSpec:
        """On the edge host, beside the cluster (the kubelet, here the supervisor, restarts the
        pods): the VPN heartbeat both ways, the gateway and Redis, alerts to the operators.
        Rounds every 2 s instead of prod's 30, so a 30 s outage is noticed within seconds."""
        components = [
            {"name": "ib-gateway", "check": "ib", "target": _host_port(w, Use("tws", "api"))},
            {"name": "redis", "check": "redis", "target": _redis_url(w)},
        ]
        env = {
            **_edge_secrets("SPY_WD_", w, credentials),
            "SPY_WD_BACKEND_URL": w.url(Use("backend", "http")),
            "SPY_WD_HTTP_PORT": str(w.ports["http"]),
            "SPY_WD_COMPONENTS": json.dumps(components),
            "SPY_WD_CHECK_INTERVAL_S": "2",
            "SPY_WD_CHECK_TIMEOUT_S": "2",
            "SPY_WD_HEARTBEAT_TIMEOUT_S": "6",
            "SPY_WD_IB_CREDENTIAL_SECRET": "ibkr-credential",
            "SPY_WD_TELEGRAM_TOKEN_SECRET": "telegram-bot-token",
            "SPY_WD_TELEGRAM_BASE_URL": w.url(Use("telegram", "http")),
            "SPY_WD_TELEGRAM_CHAT_IDS": f"[{TELEGRAM_OPERATOR_CHAT}]",
            "SPY_WD_SENDGRID_API_KEY_SECRET": "sendgrid-api-key",
            "SPY_WD_SENDGRID_BASE_URL": w.url(Use("sendgrid", "http")),
            "SPY_WD_EMAIL_TO": json.dumps([OPERATOR_EMAIL]),
            "SPY_WD_RESTART_LOG_DIR": str(w.run_dir / w.instance),
        }
        argv = [PYTHON, "-m", "system.services.watchdog"]
        return ProcessSpec(w.instance, argv, log_line(r"^watchdog ready "), env=env)

    topology = Topology(
        (
            Component("azurite", "cloud", azurite, ports=("table",)),
            Component("signalr", "cloud", signalr, ports=("http",), on_path=True),
            Component(
                "keyvault", "cloud", keyvault, ports=("https", "identity"), after_ready=seed_vault
            ),
            # Not on the path: the gateway is a pod of its own, and its market-data steps (every
            # 250 ms, a hundred subscriptions) delayed the bot and SignalR beside it on the
            # path's CPU (harness.cpu_placement). Orders are timed at its socket, by the kernel.
            Component("tws", "edge", tws, ports=("api", "admin"), after_ready=require_credential),
            Component("redis", "edge", redis, ports=("redis",)),
            Component("sendgrid", "internet", sendgrid, ports=("http",)),
            Component("telegram", "internet", telegram, ports=("http",)),
            Component(
                "backend",
                "cloud",
                backend,
                ports=("http",),
                uses=(vault_use, identity_use, signalr_use, tables_use)
                + (() if apart else (Use("tws", "api"),)),
            ),
            *(
                (
                    Component(
                        "detector",
                        "cloud",
                        detector,
                        ports=("http",),
                        uses=(vault_use, identity_use, signalr_use, tables_use, Use("tws", "api")),
                    ),
                )
                if apart
                else ()
            ),
            Component(
                "bot",
                "edge",
                bot,
                ports=("http", "forwarder"),
                replicas=settings.replicas,
                release=settings.image.rsplit(":", 1)[-1],
                strategy=rolling_update(settings),
                sidecars=(forwarder,),
                uses=(
                    vault_use,
                    identity_use,
                    signalr_use,
                    tables_use,
                    backend_use,
                    Use("redis", "redis"),
                    Use("tws", "api"),
                    Use("telegram", "http"),
                    Use("sendgrid", "http"),
                ),
            ),
            Component(
                "watchdog",
                "edge",
                watchdog,
                ports=("http",),
                uses=(
                    vault_use,
                    identity_use,
                    signalr_use,
                    backend_use,
                    Use("redis", "redis"),
                    Use("tws", "api"),
                    Use("telegram", "http"),
                    Use("sendgrid", "http"),
                ),
            ),
        )
    )
    return LocalTopology(topology, vpn_profile(settings), credentials, settings)


def lease_holder(
    address_from: Callable[[Side, Use], tuple[str, int]],
) -> Callable[[], dict[str, str] | None]:
    """The bot replica holding the trading lease, with its fencing token, read from Redis as the
    bots write it: the standbys only mirror its outcomes, so it alone of them is on the path."""

    @functools.cache  # on first use: Redis's port is chosen as the topology comes up
    def client() -> redis.Redis:
        host, port = address_from("edge", Use("redis", "redis"))
        return redis.Redis(host, port, socket_timeout=0.5, socket_connect_timeout=0.5)

    def holder() -> dict[str, str] | None:
        try:
            value = client().get(LEASE_KEY)
        except redis.RedisError:
            return None  # Redis down or restarting: leave everything where it is
        if not isinstance(value, bytes):
            return {}
        replica, _, token = value.decode().rpartition(":")
        return {replica: token}

    return holder


def _fake(module: str, *args: str) -> list[str]:
    """A fake's command line. Generated secrets go as --name=value: one that starts with "-"
    would otherwise be read as an option."""
    return [PYTHON, "-m", f"fakes.{module}", "--host", "127.0.0.1", *args]


def _ca(w: Wiring) -> Path:
    return w.run_dir / "keyvault" / "ca.pem"


def _data(w: Wiring) -> Path:
    """The pod's edge-store volume, shared by the bot and its forwarder sidecar."""
    return w.run_dir / w.instance / "data"


def _redis_url(w: Wiring) -> str:
    return f"redis://127.0.0.1:{w.address_of(Use('redis', 'redis'))[1]}/0"


def _host_port(w: Wiring, use: Use) -> str:
    host, port = w.address_of(use)
    return f"{host}:{port}"


def _identity_env(w: Wiring, credentials: LocalCredentials) -> dict[str, str]:
    """Managed identity as App Service provides it: a token endpoint and its header secret."""
    identity = w.url(Use("keyvault", "identity"))
    return {
        "IDENTITY_ENDPOINT": f"{identity}/msi/token",
        "IDENTITY_HEADER": credentials.identity_header,
    }


def _edge_secrets(prefix: str, w: Wiring, credentials: LocalCredentials) -> dict[str, str]:
    """Edge services read their secrets from Key Vault over the VPN link."""
    return {
        **_identity_env(w, credentials),
        f"{prefix}SECRETS": "keyvault",
        f"{prefix}KEYVAULT_URL": w.url(Use("keyvault", "https"), "https"),
        f"{prefix}KEYVAULT_CA_FILE": str(_ca(w)),
        f"{prefix}KEYVAULT_VERIFY_CHALLENGE_RESOURCE": "false",
        f"{prefix}TELEMETRY": "file",
        f"{prefix}TELEMETRY_DIR": str(w.run_dir / "telemetry" / w.instance),
    }


@contextmanager
def _vault(w: Wiring, credentials: LocalCredentials) -> Iterator[SecretClient]:
    """A Key Vault client as a deployment pipeline would use it (ManagedIdentityCredential reads
    its endpoint from the environment, which is restored afterwards)."""
    identity = _identity_env(w, credentials)
    saved = {name: os.environ.get(name) for name in identity}
    os.environ.update(identity)
    try:
        client = SecretClient(
            w.url(Use("keyvault", "https"), "https"),
            ManagedIdentityCredential(),
            connection_verify=str(_ca(w)),
            verify_challenge_resource=False,
        )
        with client:
            yield client
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
