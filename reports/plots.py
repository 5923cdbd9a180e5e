"""The report's plots, each an inline SVG string (matplotlib, text kept as text)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("svg")  # before pyplot is imported: no display here
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from reports.parts import Timeline

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})

# How each kind of timeline event is drawn: marker, colour.
_EVENT_STYLE = {
    "killed": ("X", "#c0392b"),
    "exited": ("o", "#333333"),
    "stopped": ("s", "#e67e22"),
    "restarted": ("^", "#27ae60"),
    "started": ("^", "#2e86c1"),
    "removed": ("v", "#7f8c8d"),
}
_OUTCOME_COLOUR = {"passed": "#27ae60", "failed": "#c0392b", "interrupted": "#e67e22"}


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg") :]


def latency_cdfs(groups: Mapping[str, Sequence[float]]) -> str:
    """One cumulative distribution per VPN profile."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for label, samples in groups.items():
        ordered = np.sort(np.asarray(samples, dtype=float))
        fraction = np.arange(1, len(ordered) + 1) / len(ordered)
        ax.step(ordered, fraction, where="post", label=f"{label} (n={len(ordered)})")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def timeline(line: Timeline) -> str:
    """Instances over time: what the supervisor saw happen to each, and the drill windows."""
    origin = min([e["t_ns"] / 1e9 for e in line.events] + [w[1] for w in line.windows])
    subjects = list(dict.fromkeys(e["subject"] for e in line.events))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(subjects) + 1.6))
    for name, start, end, outcome in line.windows:
        colour = _OUTCOME_COLOUR.get(outcome, "#999999")
        ax.axvspan(start - origin, end - origin, color=colour, alpha=0.12)
        ax.text(start - origin, len(subjects) - 0.4, name, fontsize=7, rotation=90, va="top")
    for kind, (marker, colour) in _EVENT_STYLE.items():
        chosen = [e for e in line.events if e["kind"] == kind]
        if chosen:
            ax.scatter(
                [e["t_ns"] / 1e9 - origin for e in chosen],
                [subjects.index(e["subject"]) for e in chosen],
                marker=marker,
                color=colour,
                label=kind,
                zorder=3,
            )
    rollouts = [e for e in line.events if e["kind"].startswith("rollout") or e["kind"] == "up"]
    for event in rollouts:
        ax.axvline(event["t_ns"] / 1e9 - origin, color="#8e44ad", alpha=0.5, linewidth=0.8)
    ax.set_yticks(range(len(subjects)), subjects)
    ax.set_ylim(-0.7, len(subjects) - 0.3)
    ax.set_xlabel("seconds since the first event (purple lines: up and rollouts)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


def load_over_time(history: Sequence[Mapping[str, Any]]) -> str:
    """Requests/s and response-time percentiles of all requests, from Locust's history CSV."""
    start = history[0]["Timestamp"]
    seconds = [row["Timestamp"] - start for row in history]
    fig, (rate, latency) = plt.subplots(2, 1, figsize=(7.5, 4.6), sharex=True)
    rate.plot(seconds, [row["Requests/s"] for row in history], label="requests/s")
    rate.plot(seconds, [row["Failures/s"] for row in history], label="failures/s", color="#c0392b")
    rate.set_ylabel("per second")
    rate.legend(fontsize=7)
    for column in ("50%", "95%", "99%"):
        values = [row[column] if row[column] is not None else np.nan for row in history]
        latency.plot(seconds, values, label=f"p{column.rstrip('%')}")
    latency.set_ylabel("response time (ms)")
    latency.set_xlabel("seconds into the run")
    latency.legend(fontsize=7)
    return _svg(fig)


def recovery_bars(mean_recovery_s: Mapping[str, float]) -> str:
    """Mean time to recover per drill."""
    names = sorted(mean_recovery_s)
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(names) + 1.2))
    ax.barh(names, [mean_recovery_s[n] for n in names], color="#2e86c1")
    ax.set_xlabel("mean time to recover (s)")
    return _svg(fig)


def trends(series: Mapping[str, Sequence[tuple[datetime, float]]]) -> str:
    """One small plot per figure, across this run and the earlier ones."""
    names = sorted(series)
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(9, 2.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        points = sorted(series[name])
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3)
        ax.set_title(name, fontsize=8)
        ax.tick_params(axis="x", labelrotation=30, labelsize=6)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return _svg(fig)
