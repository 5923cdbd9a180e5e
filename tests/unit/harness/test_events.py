"""The run's timeline file."""

from __future__ import annotations

from pathlib import Path

from harness.events import EventLog


def test_the_first_event_creates_the_folder_it_belongs_in(tmp_path: Path) -> None:
    """The supervisor records its first event (the CPU idle request) before any process has
    made the topology's folder."""
    events = EventLog(tmp_path / "run" / "topology" / "events.jsonl")
    events.record("cpu-idle", "machine", status="held")
    events.record("up", "topology", seconds=1.5)
    assert [(e["kind"], e["subject"]) for e in events.read()] == [
        ("cpu-idle", "machine"),
        ("up", "topology"),
    ]
    assert events.read()[0]["status"] == "held"
