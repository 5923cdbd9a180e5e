"""What delivers the system: CI workflows (actionlint), images (hadolint and the project's own
Dockerfile policy), the edge host's systemd units."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from harness.conformance.context import CheckResult, Context, Status
from harness.conformance.tools import actionlint_command, tool_path
from harness.cost import Finding
from harness.toolchain import HADOLINT

IMAGES = ("spy-backend", "spy-trading-bot", "spy-detector")


def check_actionlint(ctx: Context) -> CheckResult:
    result = CheckResult("actionlint", f"actionlint {ctx.data['versions']['actionlint']}")
    workflows = sorted((ctx.root / ".github" / "workflows").glob("*.y*ml"))
    if not workflows:
        result.fail(Finding(".github/workflows", None, "actionlint", "no workflows"))
        return result
    done = ctx.run(result, [*actionlint_command(ctx.root), *map(str, workflows)])
    pattern = re.compile(r"^(.+?):(\d+):(\d+): (.+) \[([\w-]+)\]$")
    for text in done.stdout.splitlines():
        match = pattern.match(text.strip())
        if match:
            result.fail(
                Finding(
                    ctx.rel(match[1]), int(match[2]), match[5], f"{match[4]} (column {match[3]})"
                )
            )
    if done.returncode != 0 and not result.findings:
        result.fail(
            Finding(".github/workflows", None, "actionlint", (done.stderr or done.stdout)[-500:])
        )
    names = {p.stem for p in workflows}
    for expected in ("terraform", "images", "conformance-nightly"):
        if expected not in names:
            result.fail(
                Finding(f".github/workflows/{expected}.yml", None, "workflow-missing", "missing")
            )
    result.detail = f"{len(workflows)} workflows"
    return result


def check_hadolint(ctx: Context) -> CheckResult:
    result = CheckResult("hadolint", ctx.data["versions"]["hadolint"])
    dockerfiles = sorted((ctx.root / "docker").glob("*/Dockerfile"))
    for image in IMAGES:
        if not (ctx.root / "docker" / image / "Dockerfile").exists():
            result.fail(Finding(f"docker/{image}/Dockerfile", None, "image-missing", "missing"))
    if not (ctx.root / "docker" / "fluentd" / "fluent.conf").exists():
        result.fail(Finding("docker/fluentd/fluent.conf", None, "image-missing", "missing"))
    if not dockerfiles:
        return result
    done = ctx.run(
        result,
        [
            str(tool_path(HADOLINT, ctx.root)),
            "--no-color",
            "--format",
            "json",
            *map(str, dockerfiles),
        ],
    )
    try:
        reports = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        result.fail(Finding("docker", None, "hadolint", (done.stderr or done.stdout)[-500:]))
        reports = []
    for report in reports:
        result.fail(
            Finding(
                ctx.rel(report["file"]),
                int(report["line"]),
                report["code"],
                f"{report['level']}: {report['message']}",
            )
        )
    for path in dockerfiles:
        for finding in _dockerfile_policy(ctx, path):
            result.fail(finding)
    result.detail = (
        f"{len(dockerfiles)} Dockerfiles; plus: multi-stage, numeric non-root USER, HEALTHCHECK, "
        "the module CMD runs exists"
    )
    return result


def _dockerfile_policy(ctx: Context, path: Path) -> Iterator[Finding]:
    lines = path.read_text(encoding="utf-8").splitlines()
    stages = [n for n, line in enumerate(lines, start=1) if re.match(r"(?i)^FROM\s", line)]
    if len(stages) < 2:
        yield Finding(ctx.rel(path), stages[0] if stages else None, "multi-stage", "a single stage")
    final = lines[(stages[-1] if stages else 1) - 1 :]
    users = [line for line in final if re.match(r"(?i)^USER\s", line)]
    if not users or not re.match(r"(?i)^USER\s+[1-9]\d*(:\d+)?\s*$", users[-1]):
        yield Finding(
            ctx.rel(path),
            stages[-1] if stages else None,
            "non-root",
            "the final stage must end with a numeric non-root USER",
        )
    if not any(re.match(r"(?i)^HEALTHCHECK\s", line) for line in final):
        yield Finding(
            ctx.rel(path),
            stages[-1] if stages else None,
            "healthcheck",
            "the final stage has no HEALTHCHECK",
        )
    # An image of this repository runs one of its modules: one that exists (the spy-detector
    # image named a module that did not, from the first session until the service was built).
    for number, line in enumerate(lines, start=1):
        run = re.match(r'^CMD\s+\["-m",\s*"([\w.]+)"', line)
        if run and not (ctx.root / Path(*run[1].split(".")) / "__main__.py").is_file():
            yield Finding(
                ctx.rel(path), number, "cmd-module", f"python -m {run[1]}: no such module here"
            )


def check_systemd(ctx: Context) -> CheckResult:
    result = CheckResult("systemd-analyze", ctx.data["versions"]["systemd-analyze"])
    units = sorted((ctx.root / "infra" / "edge-host" / "systemd").glob("*.service"))
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        result.status = Status.NOT_RUN
        result.detail = "not run: systemd-analyze is not installed on this machine"
        return result
    if not units:
        result.fail(Finding("infra/edge-host/systemd", None, "systemd-unit", "no watchdog unit"))
        return result
    # A scratch root with the host's standard units and stand-ins for the units' executables, so
    # `verify` checks the unit files themselves, not this machine's installation.
    scratch = ctx.out_dir / "systemd-root"
    target = scratch / "etc" / "systemd" / "system"
    target.mkdir(parents=True, exist_ok=True)
    for system_dir in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if system_dir.is_dir():
            shutil.copytree(
                system_dir,
                scratch / "usr" / "lib" / "systemd" / "system",
                symlinks=True,
                dirs_exist_ok=True,
            )
            break
    for unit in units:
        shutil.copy(unit, target / unit.name)
        for match in re.finditer(r"^Exec\w+=[-@:+!]*(/\S+)", unit.read_text(), flags=re.M):
            stub = scratch / match[1].lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    done = ctx.run(
        result, [analyze, "verify", "--man=no", f"--root={scratch}", *(u.name for u in units)]
    )
    for text in (done.stdout + done.stderr).splitlines():
        located = re.match(r"^(\S+?):(\d+): (.+)$", text)
        if located:
            unit = next((u for u in units if u.name == Path(located[1]).name), units[0])
            result.fail(Finding(ctx.rel(unit), int(located[2]), "systemd-verify", located[3]))
        elif text.strip():
            result.fail(Finding(ctx.rel(units[0]), None, "systemd-verify", text.strip()))
    result.detail = f"{len(units)} unit(s) verified against a scratch root"
    return result
