"""No secret values in tfvars, backend files or Helm values files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from harness.conformance.context import CheckResult, Context
from harness.cost import Finding

_SECRET_NAME = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"shared[_-]?key|client[_-]?secret|connection[_-]?string|credential|sas)"
)
_SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AccountKey=|SharedAccessSignature=|AccessKey=|"
    r"\bsig=[A-Za-z0-9%]{20,}|\bSG\.[\w-]{16,}\.[\w-]{16,}|\bghp_[A-Za-z0-9]{30,}|"
    r"\bxox[abp]-[A-Za-z0-9-]{10,}|\beyJ[\w-]{10,}\.[\w-]{10,}\.|\b\d{8,10}:[\w-]{30,}"
)


def check_no_secrets(ctx: Context) -> CheckResult:
    result = CheckResult("no-secrets", "python scan of tfvars and Helm values files")
    result.commands.append("python -m harness.conformance --only no-secrets")
    files = sorted((ctx.root / "infra").rglob("*.tfvars")) + sorted(
        (ctx.root / "infra").rglob("*.hcl")
    )
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = re.match(r'^\s*"?([\w-]+)"?\s*=\s*"([^"]*)"', line)
            if match and _SECRET_NAME.search(match[1]) and match[2].strip():
                result.fail(
                    Finding(
                        ctx.rel(path),
                        number,
                        "secret-in-tfvars",
                        f"{match[1]} has a literal value; secrets belong in Key Vault",
                    )
                )
            elif _SECRET_VALUE.search(line):
                result.fail(
                    Finding(
                        ctx.rel(path),
                        number,
                        "secret-in-tfvars",
                        "the value looks like a credential",
                    )
                )
    for path in sorted((ctx.root / "charts").glob("*/values*.yaml")):
        for finding in _yaml_secrets(ctx, path):
            result.fail(finding)
    values = list((ctx.root / "charts").glob("*/values*.yaml"))
    result.detail = f"{len(files)} tfvars/backend files, {len(values)} values files"
    return result


def _yaml_secrets(ctx: Context, path: Path) -> Iterator[Finding]:
    text = path.read_text(encoding="utf-8")
    if _SECRET_VALUE.search(text):
        for number, line in enumerate(text.splitlines(), start=1):
            if _SECRET_VALUE.search(line):
                yield Finding(
                    ctx.rel(path), number, "secret-in-values", "the value looks like a credential"
                )
    root = yaml.compose(text)
    if root is None:
        return

    def walk(node: yaml.Node, names: bool = False) -> Iterator[Finding]:
        """`names`: under a key such as secretNames, whose values name secrets, never hold them."""
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value)
                if (
                    isinstance(value, yaml.ScalarNode)
                    and not names
                    and _SECRET_NAME.search(name)
                    and str(value.value).strip()
                    and not re.search(r"(?i)(existing|name|path|file|ref|mount|keys?$)", name)
                ):
                    yield Finding(
                        ctx.rel(path),
                        key.start_mark.line + 1,
                        "secret-in-values",
                        f"{name} has a literal value; reference an existing Secret instead",
                    )
                yield from walk(value, names or bool(re.search(r"(?i)names$", name)))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                yield from walk(item, names)

    yield from walk(root)
