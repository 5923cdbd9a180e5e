"""The VPN link's behaviour, applied as Toxiproxy toxics on every link of the topology."""

from __future__ import annotations

from dataclasses import dataclass

from harness.topology import Link
from harness.toxiproxy import Stream, Toxiproxy

# A toxic as a profile puts it on a link: (stream, Toxiproxy type, attributes).
Toxic = tuple[Stream, str, dict[str, int]]

# Toxic names this module owns on every link; anything else on a link is someone else's fault.
_OUTAGE_TOXICS = ("vpn-outage-upstream", "vpn-outage-downstream")


@dataclass(frozen=True, slots=True)
class VpnProfile:
    edge_to_cloud_ms: int
    cloud_to_edge_ms: int
    jitter_ms: int = 0
    bandwidth_kbytes_s: int = 12_500  # 100 Mbps, in the KB/s Toxiproxy counts

    def __post_init__(self) -> None:
        for name in ("edge_to_cloud_ms", "cloud_to_edge_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"VPN profile: {name} must not be negative")
        if self.bandwidth_kbytes_s <= 0:  # a zero-rate bandwidth toxic wedges Toxiproxy
            raise ValueError("VPN profile: bandwidth_kbytes_s must be positive")
        if self.jitter_ms > min(self.edge_to_cloud_ms, self.cloud_to_edge_ms):
            raise ValueError("VPN profile: jitter_ms must not exceed the one-way latency")

    def __str__(self) -> str:
        return (
            f"edge→cloud {self.edge_to_cloud_ms} ms, cloud→edge {self.cloud_to_edge_ms} ms, "
            f"jitter ±{self.jitter_ms} ms, {self.bandwidth_kbytes_s * 8 / 1000:g} Mbps"
        )

    @classmethod
    def from_rtt(cls, rtt_ms: int, jitter_ms: int = 0) -> VpnProfile:
        return cls(rtt_ms // 2, rtt_ms - rtt_ms // 2, jitter_ms)

    def one_way_ms(self, stream: Stream, link: Link) -> int:
        """Upstream is client to server: edge to cloud when the server is in the cloud."""
        towards_cloud = (stream == "upstream") == (link.server_side == "cloud")
        return self.edge_to_cloud_ms if towards_cloud else self.cloud_to_edge_ms


def apply_profile(api: Toxiproxy, links: list[Link], profile: VpnProfile) -> None:
    """Set every link's latency and bandwidth toxics to the profile, in place: Toxiproxy 2.12 can
    deadlock or crash when a toxic is removed and re-added under a busy stream. A new bandwidth
    is set with the link disabled (its connections reset): 2.12 panics when the rate changes
    while a slow bandwidth toxic is splitting a chunk."""
    for link in links:
        present = {toxic["name"]: toxic for toxic in api.toxics(link.name)}
        wanted = profile_toxics(link, profile)
        rate_changes = any(
            kind == "bandwidth" and name in present and present[name]["attributes"] != attributes
            for name, (_stream, kind, attributes) in wanted.items()
        )
        if rate_changes:
            api.set_enabled(link.name, False)
        for name, (stream, kind, attributes) in wanted.items():
            if name in present:
                api.update_toxic(link.name, name, attributes)
            else:
                api.add_toxic(link.name, kind, stream, attributes, name=name)
        if rate_changes:
            api.set_enabled(link.name, True)


def profile_toxics(
    link: Link, profile: VpnProfile
) -> dict[str, tuple[Stream, str, dict[str, int]]]:
    """The profile's toxics on one link, by name."""
    toxics: dict[str, Toxic] = {}
    for stream in ("upstream", "downstream"):
        latency = {"latency": profile.one_way_ms(stream, link), "jitter": profile.jitter_ms}
        toxics[f"vpn-latency-{stream}"] = (stream, "latency", latency)
        bandwidth = {"rate": profile.bandwidth_kbytes_s}
        toxics[f"vpn-bandwidth-{stream}"] = (stream, "bandwidth", bandwidth)
    return toxics


def start_outage(api: Toxiproxy, links: list[Link]) -> None:
    """A black hole, as a dead IPsec tunnel is: connections stay open, nothing arrives, no RST."""
    for link in links:
        _remove(api, link, _OUTAGE_TOXICS)
        for stream in ("upstream", "downstream"):
            api.add_toxic(link.name, "timeout", stream, {"timeout": 0}, name=f"vpn-outage-{stream}")


def black_holed(api: Toxiproxy, links: list[Link]) -> list[str]:
    """The links an outage black-holes now, whoever started it (spyh, a drill, a scenario)."""
    return [
        link.name
        for link in links
        if any(toxic["name"] in _OUTAGE_TOXICS for toxic in api.toxics(link.name))
    ]


def end_outage(api: Toxiproxy, links: list[Link]) -> None:
    """Lift the black hole and reset the connections that lived through it: Toxiproxy dropped
    their bytes where TCP would have retransmitted them, so their streams have holes."""
    for link in links:
        _remove(api, link, _OUTAGE_TOXICS)
        api.set_enabled(link.name, False)
        api.set_enabled(link.name, True)


def _remove(api: Toxiproxy, link: Link, names: tuple[str, ...]) -> None:
    present = {toxic["name"] for toxic in api.toxics(link.name)}
    for name in names:
        if name in present:
            api.remove_toxic(link.name, name)
