"""A copy of infra/ that Terraform can plan offline: the modules' inputs without their resources.

`terraform validate` and `plan` need the azurerm provider, which cannot be downloaded here, so
without this nothing evaluated the modules' variable validations against what the environments
pass them: one that failed every plan went unnoticed for seventeen sessions. In every environment
and every module the copy keeps the variables (with their validations), locals, module calls,
outputs and tfvars; every reference to one of its own resources or data sources becomes a value
unknown until apply. Everything else (providers, resources, data sources, the backend) becomes
blank lines, so every file keeps its path and line numbers and Terraform's diagnostics point at
the real source.

The unknown value comes from the built-in `terraform_data` resource, which needs no provider. A
plan of the copy checks module arguments against their variables (names, required, types) and
runs every validation whose value is known at plan time: the tfvars, literals, and what modules
compute from them (a name built from a variable, say); what a resource would return stays unknown.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

KEEPS = frozenset({"variable", "locals", "module", "output"})
UNKNOWN_FILE = "offline_unknown.tf"
# `jsondecode` of a value unknown until apply is unknown of any type: attribute access, indexing
# and splats on it stay unknown, as they would on a resource's attributes.
UNKNOWN = "local.offline_unknown"
_UNKNOWN_DEFINITION = (
    'resource "terraform_data" "offline" {}\n\n'
    "locals {\n"
    "  offline_unknown = jsondecode(terraform_data.offline.id)\n"
    "}\n"
)
_HEADER = re.compile(r'^(?P<kind>\w+)(?P<labels>(?: "[^"]*")*) \{(?P<closed>\})?\s*$')
# depends_on takes resource addresses, not values: with the resources gone, the ordering goes too.
_DEPENDS_ON = re.compile(r"^\s*depends_on\s*=\s*\[[^\]]*\]\s*$")


@dataclass(frozen=True)
class Block:
    kind: str
    labels: tuple[str, ...]
    start: int  # 1-based, inclusive
    end: int


def write_inputs_copy(infra: Path, target: Path) -> list[Path]:
    """Write the copy of `infra` (modules/, envs/) under target/infra; return its environments."""
    copy = target / "infra"
    shutil.rmtree(copy, ignore_errors=True)
    for module in _folders(infra / "modules"):
        _write_inputs_only(module, copy / "modules" / module.name)
    environments = []
    for environment in _folders(infra / "envs"):
        _write_inputs_only(environment, copy / "envs" / environment.name)
        environments.append(copy / "envs" / environment.name)
    return environments


def _folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir())


def _write_inputs_only(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    files = {path: _blocks(path) for path in sorted(source.glob("*.tf"))}
    references = [
        re.compile(rf"(?<![\w.-]){re.escape(address)}\b")
        for blocks in files.values()
        for block in blocks
        if (address := _address(block))
    ]
    for path, blocks in files.items():
        original = path.read_text().splitlines(keepends=True)
        lines = ["\n"] * len(original)
        for block in blocks:
            if block.kind in KEEPS:
                lines[block.start - 1 : block.end] = original[block.start - 1 : block.end]
        kept = "".join("\n" if _DEPENDS_ON.match(line) else line for line in lines)
        for reference in references:
            kept = reference.sub(UNKNOWN, kept)
        (target / path.name).write_text(kept)
    for tfvars in source.glob("*.tfvars"):
        shutil.copy2(tfvars, target / tfvars.name)
    (target / UNKNOWN_FILE).write_text(_UNKNOWN_DEFINITION)


def _blocks(path: Path) -> list[Block]:
    """The top-level blocks of a file in `terraform fmt`'s layout (the terraform-fmt check holds
    infra/ to it): a header at column 0, the closing brace alone at column 0."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        header = _HEADER.match(lines[index])
        if header is None:
            if lines[index].strip() and not lines[index].lstrip().startswith(("#", "//")):
                raise HarnessError(
                    f"{path}:{index + 1}: outside any top-level block; is the file in "
                    "`terraform fmt` layout?"
                )
            index += 1
            continue
        end = index
        while not header["closed"] and lines[end].rstrip() != "}":
            end += 1
            if end == len(lines):
                raise HarnessError(f"{path}:{index + 1}: the block never closes at column 0")
        labels = tuple(re.findall(r'"([^"]*)"', header["labels"]))
        blocks.append(Block(header["kind"], labels, index + 1, end + 1))
        index = end + 1
    return blocks


def _address(block: Block) -> str | None:
    """How the configuration refers to a resource or data source: TYPE.NAME, data.TYPE.NAME."""
    if block.kind == "resource":
        return ".".join(block.labels)
    if block.kind == "data":
        return ".".join(("data", *block.labels))
    return None
