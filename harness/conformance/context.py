"""What every check works with: its result, findings and the run's context (root, output
folder, environment, network isolation)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from harness.cost import Finding

ENVIRONMENTS = ("dev", "prod")


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class Skip:
    """A checkov check not applied, with the reason written next to it."""

    check_id: str
    scope: str
    justification: str


@dataclass
class CheckResult:
    name: str
    tool: str
    commands: list[str] = field(default_factory=list)
    status: Status = Status.PASSED
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    duration_s: float = 0.0
    skips: list[Skip] = field(default_factory=list)

    def fail(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.status = Status.FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tool": self.tool,
            "commands": self.commands,
            "status": str(self.status),
            "detail": self.detail,
            "duration_s": round(self.duration_s, 2),
            "findings": [f.__dict__ | {"text": str(f)} for f in self.findings],
            "skips": [s.__dict__ for s in self.skips],
        }


@dataclass
class Context:
    root: Path
    out_dir: Path
    env: dict[str, str]
    isolate: list[str]
    rendered: dict[tuple[str, str], Path] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def rel(self, path: Path | str) -> str:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            return str(candidate.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def run(
        self,
        result: CheckResult,
        argv: Sequence[str],
        *,
        isolated: bool = True,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool in the repo root (or `cwd`); record the command (repo-relative paths) on
        the result."""
        shown = shlex.join(
            [self.rel(a) if a.startswith(str(self.root)) else a for a in map(str, argv)]
        )
        result.commands.append(shown if cwd is None else f"(cd {self.rel(cwd)} && {shown})")
        prefix = self.isolate if isolated else []
        return subprocess.run(
            [*prefix, *map(str, argv)],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


def yaml_line(path: Path, pointer: Sequence[str]) -> int | None:
    """Line of the key at a JSON pointer in a YAML file, or None when the file does not set it."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in pointer:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return None
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return None
    return line
