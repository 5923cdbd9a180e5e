"""Files written whole: a reader (a service watching its config, `spyh status`) sees the old
contents or the new, never half of them."""

from __future__ import annotations

from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """Write beside the file, then rename over it in one step, as the kubelet swaps a ConfigMap."""
    staged = path.with_name(f".{path.name}.new")
    staged.write_text(text)
    staged.replace(path)
