"""./bootstrap: install every tool the project runs, pinned and idempotently; print the versions.

Standard library only (it runs before any virtual environment exists). Each step checks what is
already there and does nothing when it matches the pin, so a second run is a quick no-op. A step
that fails stops the bootstrap with one line naming the tool and the command that failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.toolchain import (
    ALL_TOOLS,
    BIN,
    NPM_INSTALLS,
    NPM_MANIFESTS,
    ROOT,
    TOOLS,
    DebianTool,
    GoTool,
    NpmTool,
    Tool,
)

# The Python tooling that drives everything else; the project's own packages are pinned in uv.lock.
FRONT_DOOR = ("uv==0.13.9", "tox==4.67.15", "tox-uv==1.37.1")
FRONT_DOOR_VENV = TOOLS / "venv"
# The .venv runs on the interpreter running this (project_venv), so its folders are named after it.
PYTHON_VERSION = f"python{sys.version_info[0]}.{sys.version_info[1]}"
VENV_SITE_PACKAGES = ROOT / ".venv" / "lib" / PYTHON_VERSION / "site-packages"


class BootstrapFailed(Exception):
    def __init__(self, tool: str, command: Sequence[str], code: int, output: str) -> None:
        super().__init__(f"bootstrap: {tool}: command failed (exit {code}): {' '.join(command)}")
        self.output = output


def run(
    tool: str, command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BootstrapFailed(tool, command, 127, f"{command[0]}: not found") from None
    if done.returncode != 0:
        raise BootstrapFailed(tool, command, done.returncode, done.stdout + done.stderr)
    return done.stdout + done.stderr


def stamp_matches(stamp: Path, content: str) -> bool:
    return stamp.exists() and stamp.read_text() == content


def front_door() -> None:
    """uv, tox and tox-uv in .tools/venv, linked as .tools/bin/{uv,tox}."""
    stamp = FRONT_DOOR_VENV / ".pins"
    pins = "\n".join(FRONT_DOOR)
    if not stamp_matches(stamp, pins):
        run("python venv", [sys.executable, "-m", "venv", "--clear", str(FRONT_DOOR_VENV)])
        run(
            "uv/tox",
            [
                str(FRONT_DOOR_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *FRONT_DOOR,
            ],
        )
        stamp.write_text(pins)
    for name in ("uv", "tox"):
        link = BIN / name
        if not link.exists():
            link.symlink_to(FRONT_DOOR_VENV / "bin" / name)


def project_venv() -> None:
    """The project with every dependency group, exactly as locked, in .venv."""
    run(
        "python packages",
        [str(BIN / "uv"), "sync", "--locked", "--all-groups", "--quiet"],
        env={"UV_PYTHON": sys.executable},
        cwd=ROOT,
    )
    compile_bytecode(ROOT / ".venv" / "bin" / "python", VENV_SITE_PACKAGES)


def compile_bytecode(python: Path, site_packages: Path) -> None:
    """Write the dependencies' .pyc files once. uv installs none, and with PYTHONDONTWRITEBYTECODE
    set (tox sets it, and machines like this one do) every process would compile its imports from
    source at each start: a bot's imports 2.2 s -> 0.95 s of CPU, a cold `spyh up` 21 s -> 7 s.
    compileall skips what is already compiled, so a second run takes 0.3-0.6 s."""
    run("bytecode", [str(python), "-m", "compileall", "-q", str(site_packages)])


GO_BUILD_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}


def install_go(tool: GoTool) -> None:
    if tool.path.exists() and go_module_version(tool) == tool.version:
        return
    with tempfile.TemporaryDirectory(dir=TOOLS) as scratch:
        built = Path(scratch) / Path(tool.package).name
        if tool.nested_modules_at is None:
            run(
                tool.name,
                ["go", "install", f"-ldflags={tool.ldflags}", f"{tool.package}@{tool.version}"],
                env={**GO_BUILD_ENV, "GOBIN": scratch},
            )
        else:
            build_with_nested_modules(tool, tool.nested_modules_at, Path(scratch), built)
        built.replace(tool.path)


def build_with_nested_modules(tool: GoTool, nested_at: str, scratch: Path, built: Path) -> None:
    """Build `tool` from a throwaway module requiring it and, at `nested_at`, each nested module
    its go.mod replaces with a ./path (see GoTool.nested_modules_at)."""
    download = run(
        tool.name,
        ["go", "mod", "download", "-json", f"{tool.module}@{tool.version}"],
        cwd=scratch,
    )
    go_mod = Path(json.loads(download)["GoMod"]).read_text()
    go_version = re.search(r"^go\s+(\S+)", go_mod, re.MULTILINE)
    nested = re.findall(r"^replace\s+(\S+)\s+=>\s+\./", go_mod, re.MULTILINE)
    requires = [f"{tool.module} {tool.version}", *(f"{module} {nested_at}" for module in nested)]
    module = scratch / "build"
    module.mkdir()
    (module / "go.mod").write_text(
        f"module spyh.local/build/{tool.name}\n\n"
        + (f"go {go_version.group(1)}\n\n" if go_version else "")
        + "".join(f"require {line}\n" for line in requires)
    )
    run(
        tool.name,
        ["go", "build", f"-ldflags={tool.ldflags}", "-o", str(built), tool.package],
        env={**GO_BUILD_ENV, "GOFLAGS": "-buildvcs=false -mod=mod"},
        cwd=module,
    )


def go_module_version(tool: GoTool) -> str:
    """The module version the binary was built from, if it was built with our version stamp."""
    info = run(tool.name, ["go", "version", "-m", str(tool.path)])
    found = re.search(rf"^\s+mod\s+{re.escape(tool.module)}\s+(\S+)", info, re.MULTILINE)
    stamped = tool.ldflags in info
    return found.group(1) if found and stamped else "unstamped"


def install_npm(folder: str) -> None:
    """`npm ci` from the committed lockfile; skipped while the lockfile is unchanged."""
    source, target = NPM_MANIFESTS / folder, NPM_INSTALLS / folder
    lock = (source / "package-lock.json").read_bytes()
    stamp = target / "node_modules" / ".bootstrap-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        shutil.copy2(item, target / item.name)
    if stamp_matches(stamp, digest):
        return
    run(f"npm {folder}", ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target)
    stamp.write_text(digest)


def install_debian(tools: Sequence[DebianTool]) -> None:
    missing = [t for t in tools if not t.matches(upstream_version(t))]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run("apt index", [*sudo, "apt-get", "update", "-qq"], env=env)
    packages = [t.package for t in missing]
    run(
        ", ".join(packages),
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
    )
    for tool in missing:
        found = upstream_version(tool)
        if not tool.matches(found):
            raise BootstrapFailed(
                tool.name,
                ["dpkg-query", "-W", tool.package],
                1,
                f"Debian installed {found}, the pin is {tool.version}",
            )


def upstream_version(tool: DebianTool) -> str | None:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", tool.package],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.startswith("install ok installed"):
        return None
    full = done.stdout.split()[-1]  # epoch:upstream-debian, e.g. 5:7.0.15-1~deb12u10
    return re.sub(r"^\d+:", "", full).split("-")[0].split("+")[0]


def installed_version(tool: Tool) -> str:
    """What is on disk now, read from the tool itself or its package metadata."""
    if isinstance(tool, GoTool):
        return go_module_version(tool)
    if isinstance(tool, NpmTool):
        manifest = NPM_INSTALLS / tool.folder / "node_modules" / tool.package / "package.json"
        return str(json.loads(manifest.read_text())["version"])
    if isinstance(tool, DebianTool):
        return upstream_version(tool) or "missing"
    return version_of(tool.name, tool.path)


def version_of(name: str, command: Path) -> str:
    """The first version number a command prints for --version."""
    found = re.search(r"\d+\.\d+(\.\d+)?", run(name, [str(command), "--version"]))
    return found.group(0) if found else "unknown"


def check_prerequisites() -> None:
    if sys.version_info[:2] != (3, 11):
        raise BootstrapFailed("python", [sys.executable], 1, "the project needs Python 3.11")
    for command in ("go", "node", "npm"):
        if shutil.which(command) is None:
            raise BootstrapFailed(command, [command], 127, f"{command} is not on PATH")


def main() -> int:
    started = time.monotonic()
    BIN.mkdir(parents=True, exist_ok=True)
    try:
        check_prerequisites()
        front_door()
        project_venv()
        for tool in ALL_TOOLS:
            if isinstance(tool, GoTool):
                install_go(tool)
        for folder in sorted({t.folder for t in ALL_TOOLS if isinstance(t, NpmTool)}):
            install_npm(folder)
        install_debian([t for t in ALL_TOOLS if isinstance(t, DebianTool)])
        rows = [(t.name, installed_version(t), t.path) for t in ALL_TOOLS]
        rows += [(name, version_of(name, BIN / name), BIN / name) for name in ("uv", "tox")]
    except BootstrapFailed as failure:
        print(failure.output.rstrip()[-4000:], file=sys.stderr)
        print(failure, file=sys.stderr)
        return 1
    for name, version, path in rows:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{name:<16}  {version:<9}  {shown}")
    print(f"bootstrap: ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
