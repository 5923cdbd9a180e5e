"""spyh: the harness's command line."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from harness.errors import HarnessError
from harness.run_folder import new_run_folder
from harness.toolchain import ROOT

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def spyh() -> None:
    """spyh: bring the spy-hybrid topology up on this machine and check it."""


@app.command()
def smoke(latency_ms: int = typer.Option(10, min=1, help="latency toxic to inject")) -> None:
    """Azurite behind Toxiproxy: write and read through the link, measure the added latency."""
    from harness.smoke import run_smoke

    run_dir = new_run_folder("smoke")
    result = run_smoke(run_dir, latency_ms)
    for line in result.lines():
        typer.echo(line)
    typer.echo(f"logs: {run_dir}")
    if min(result.toxic_ms) < latency_ms:
        raise HarnessError(f"the {latency_ms:g} ms latency toxic did not delay every request")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def scenarios(ctx: typer.Context) -> None:
    """Run the BDD scenarios on the local topology, then build the report and print its path.
    Extra arguments go to pytest (e.g. -k failover)."""
    from reports.build import build_report

    run_dir = new_run_folder("scenarios")
    pytest = [sys.executable, "-m", "pytest", "scenarios", f"--junitxml={run_dir / 'junit.xml'}"]
    code = subprocess.call(
        [*pytest, *ctx.args], cwd=ROOT, env={**os.environ, "SPYH_RUN_DIR": str(run_dir)}
    )
    typer.echo(f"report: {build_report(run_dir)}")
    raise typer.Exit(code)


def main() -> None:
    """Entry point: a HarnessError is one clear line and exit code 2, never a traceback."""
    try:
        app()
    except HarnessError as error:
        typer.echo(f"spyh: error: {error}", err=True)
        sys.exit(2)
