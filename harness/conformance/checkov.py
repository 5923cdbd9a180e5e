"""checkov on infra/ and on the rendered charts, with every skip justified."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from harness.conformance.context import CheckResult, Context, Skip
from harness.conformance.tools import tool_path
from harness.cost import Finding
from harness.toolchain import PythonTool

CHECKOV = PythonTool("checkov", "checkov")


def config_skips(ctx: Context, config: Path) -> tuple[list[Skip], list[Finding]]:
    """The skip-check list of a checkov config file; each entry needs a justification comment."""
    skips: list[Skip] = []
    findings: list[Finding] = []
    in_list = False
    for number, line in enumerate(config.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(r"^skip-check:\s*$", line):
            in_list = True
            continue
        if in_list and re.match(r"^\S", line):
            in_list = False
        match = re.match(r"^\s*-\s*([A-Z0-9_]+)\s*(?:#\s*(.*))?$", line) if in_list else None
        if match:
            justification = (match[2] or "").strip()
            skips.append(
                Skip(
                    match[1], f"all of {ctx.rel(config.parent)} ({ctx.rel(config)})", justification
                )
            )
            if len(justification) < 10:
                findings.append(
                    Finding(
                        ctx.rel(config),
                        number,
                        "skip-justified",
                        f"{match[1]} is skipped without a justification comment",
                    )
                )
    return skips, findings


def _checkov(
    ctx: Context,
    name: str,
    directory: Path,
    config: Path,
    locate: Callable[[str, list[int]], tuple[str, int | None, str]],
) -> CheckResult:
    result = CheckResult(name, f"checkov {ctx.data['versions']['checkov']}")
    skips, problems = config_skips(ctx, config)
    result.skips.extend(skips)
    for problem in problems:
        result.fail(problem)
    checkov = tool_path(CHECKOV, ctx.root)
    # Run from inside the directory: given a path with a hidden folder in it (.runs/...),
    # checkov skips every file and reports 0 resources, a pass that checked nothing.
    done = ctx.run(
        result,
        [
            str(checkov), "--directory", ".", "--config-file", str(config),
            "--skip-download", "--output", "json",
        ],
        cwd=directory,
    )  # fmt: skip
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError:
        result.fail(
            Finding(ctx.rel(directory), None, "checkov-crash", (done.stderr or done.stdout)[-800:])
        )
        return result
    counts = {"passed": 0, "failed": 0, "skipped": 0, "resource_count": 0}
    for report in reports if isinstance(reports, list) else [reports]:
        summary = report.get("summary", {})
        for key in counts:
            counts[key] += int(summary.get(key, 0))
        if summary.get("parsing_errors"):
            result.fail(
                Finding(
                    ctx.rel(directory),
                    None,
                    "checkov-parse",
                    f"{summary['parsing_errors']} files could not be parsed",
                )
            )
        results = report.get("results", {})
        for failed in results.get("failed_checks", []):
            file, line, where = locate(failed["file_path"], failed.get("file_line_range") or [])
            result.fail(
                Finding(
                    file,
                    line,
                    failed["check_id"],
                    f"{failed['check_name']} ({failed['resource']}{where})",
                )
            )
        for skipped in results.get("skipped_checks", []):
            comment = str(
                skipped.get("suppress_comment")
                or (skipped.get("check_result") or {}).get("suppress_comment")
                or ""
            ).strip()
            file, line, _ = locate(skipped["file_path"], skipped.get("file_line_range") or [])
            skip = Skip(skipped["check_id"], f"{skipped['resource']} ({file})", comment)
            if skip not in result.skips:  # dev and prod render the same resource twice
                result.skips.append(skip)
            if len(comment) < 10 or comment.lower().startswith("no comment"):
                result.fail(
                    Finding(
                        file,
                        line,
                        "skip-justified",
                        f"{skipped['check_id']} is skipped on {skipped['resource']} "
                        "without a reason",
                    )
                )
    if not counts["resource_count"]:
        result.fail(
            Finding(ctx.rel(directory), None, "checkov-empty", "checkov found no resource to check")
        )
    result.detail = (
        f"{counts['passed']} passed, {counts['failed']} failed over {counts['resource_count']} "
        f"resources, {len(result.skips)} skips (each justified in the config file or on the "
        "resource)"
    )
    return result


def check_checkov_terraform(ctx: Context) -> CheckResult:
    infra = ctx.root / "infra"

    def locate(file_path: str, lines: list[int]) -> tuple[str, int | None, str]:
        return ctx.rel(infra / file_path.lstrip("/")), (lines[0] if lines else None), ""

    return _checkov(ctx, "checkov-terraform", infra, infra / "checkov.yaml", locate)


def check_checkov_charts(ctx: Context) -> CheckResult:
    rendered = ctx.out_dir / "rendered"

    def locate(file_path: str, lines: list[int]) -> tuple[str, int | None, str]:
        path = rendered / file_path.lstrip("/")
        line = lines[0] if lines else 1
        return _template_of(ctx, path, line), None, f"; rendered {ctx.rel(path)}:{line}"

    if not ctx.rendered:
        result = CheckResult("checkov-charts", f"checkov {ctx.data['versions']['checkov']}")
        result.fail(Finding("charts", None, "helm-template", "nothing was rendered"))
        return result
    return _checkov(ctx, "checkov-charts", rendered, ctx.root / "charts" / "checkov.yaml", locate)


def _template_of(ctx: Context, rendered: Path, line: int) -> str:
    """charts/<chart>/templates/... from the `# Source:` comment above `line` of a rendered file."""
    try:
        lines = rendered.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ctx.rel(rendered)
    for text in reversed(lines[: max(line, 1)]):
        if text.startswith("# Source: "):
            return f"charts/{text.removeprefix('# Source: ').strip()}"
    return ctx.rel(rendered)
