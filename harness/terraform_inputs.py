"""A copy of infra/ that Terraform can plan offline: the modules' inputs without their resources.

`terraform validate` and `plan` need the azurerm provider, which cannot be downloaded here, so
without this nothing evaluated the modules' variable validations against what the environments
pass them: one that failed every plan went unnoticed for seventeen sessions. The copy keeps

- in each environment: its variables, locals, module calls, outputs and terraform.tfvars, with
  every reference to one of its own resources or data sources turned into an unknown value;
- in each module: its variables with their validations, and its outputs, each an unknown value
  (still sensitive where the original is, so what the environments do with it evaluates alike).

Everything else (providers, resources, data sources, the backend) becomes blank lines, so every
file keeps its path and line numbers and Terraform's diagnostics point at the real source. The
unknown values come from the built-in `terraform_data` resource, which needs no provider: a plan of
the copy checks module arguments against their variables (names, required, types) and runs every
validation whose value is known at plan time.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

# Blocks an environment keeps; a module keeps its variables and (rewritten) outputs.
ENVIRONMENT_KEEPS = frozenset({"variable", "locals", "module", "output"})
UNKNOWN_FILE = "offline_unknown.tf"
# `jsondecode` of a value unknown until apply is unknown of any type: attribute access and
# indexing on it stay unknown, as they would on a resource's attributes.
ROOT_UNKNOWN = "local.offline_unknown"
MODULE_UNKNOWN = "jsondecode(terraform_data.offline.id)"


_HEADER = re.compile(r'^(?P<kind>\w+)(?P<labels>(?: "[^"]*")*) \{(?P<closed>\})?\s*$')
_SENSITIVE = re.compile(r"^\s*sensitive\s*=\s*true\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    kind: str
    labels: tuple[str, ...]
    start: int  # 1-based, inclusive
    end: int
    text: str


def write_inputs_copy(infra: Path, target: Path) -> list[Path]:
    """Write the copy of `infra` (modules/, envs/) under target/infra; return its environments."""
    copy = target / "infra"
    shutil.rmtree(copy, ignore_errors=True)
    for module in sorted(p for p in (infra / "modules").iterdir() if p.is_dir()):
        _write_module(module, copy / "modules" / module.name)
    environments = []
    for environment in sorted(p for p in (infra / "envs").iterdir() if p.is_dir()):
        environments.append(_write_environment(environment, copy / "envs" / environment.name))
    return environments


def _write_module(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for path, blocks in _parsed(source).items():
        original, lines = _original_and_blank(path)
        for block in blocks:
            if block.kind == "variable":
                _put(lines, block, original[block.start - 1 : block.end])
            elif block.kind == "output":
                _put(lines, block, _unknown_output(block))
        (target / path.name).write_text("".join(lines))
    (target / UNKNOWN_FILE).write_text('resource "terraform_data" "offline" {}\n')


def _write_environment(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    parsed = _parsed(source)
    dropped = [
        re.compile(rf"(?<![\w.-]){re.escape(address)}\b")
        for blocks in parsed.values()
        for block in blocks
        if (address := _address(block))
    ]
    for path, blocks in parsed.items():
        original, lines = _original_and_blank(path)
        for block in blocks:
            if block.kind in ENVIRONMENT_KEEPS:
                _put(lines, block, original[block.start - 1 : block.end])
        text = "".join(lines)
        for reference in dropped:
            text = reference.sub(ROOT_UNKNOWN, text)
        (target / path.name).write_text(text)
    for tfvars in source.glob("*.tfvars"):
        shutil.copy2(tfvars, target / tfvars.name)
    (target / UNKNOWN_FILE).write_text(
        'resource "terraform_data" "offline" {}\n\n'
        "locals {\n"
        f"  offline_unknown = {MODULE_UNKNOWN}\n"
        "}\n"
    )
    return target


def _parsed(directory: Path) -> dict[Path, list[Block]]:
    return {path: _blocks(path) for path in sorted(directory.glob("*.tf"))}


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
        text = "\n".join(lines[index : end + 1])
        blocks.append(Block(header["kind"], labels, index + 1, end + 1, text))
        index = end + 1
    return blocks


def _address(block: Block) -> str | None:
    """How the configuration refers to a resource or data source: TYPE.NAME, data.TYPE.NAME."""
    if block.kind == "resource":
        return ".".join(block.labels)
    if block.kind == "data":
        return ".".join(("data", *block.labels))
    return None


def _unknown_output(block: Block) -> list[str]:
    sensitive = _SENSITIVE.search(block.text) is not None
    return [
        f'output "{block.labels[0]}" {{\n',
        f"  value = {MODULE_UNKNOWN}\n",
        *(["  sensitive = true\n"] if sensitive else []),
        "}\n",
    ]


def _original_and_blank(path: Path) -> tuple[list[str], list[str]]:
    original = path.read_text().splitlines(keepends=True)
    return original, ["\n"] * len(original)


def _put(lines: list[str], block: Block, replacement: list[str]) -> None:
    """`replacement` in the block's place, padded with blank lines to keep the lines after it."""
    span = block.end - block.start + 1
    if len(replacement) > span:
        raise ValueError(f"{block.kind} {'.'.join(block.labels)}: {span} lines cannot hold it")
    padded = replacement[:-1] + ["\n"] * (span - len(replacement)) + replacement[-1:]
    lines[block.start - 1 : block.end] = padded
