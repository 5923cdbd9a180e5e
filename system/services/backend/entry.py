"""How a cloud service process runs: settings checked first, then its `serve` until SIGTERM.

Exit codes: 0 on SIGTERM or Ctrl-C after draining; 2 with one line naming the setting when a
setting is missing or invalid; 1 with one line when a dependency needed to start (Key Vault) did
not answer within STARTUP_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from types import FrameType

from system.services.backend.settings import CloudSettings
from system.settings_errors import load_settings


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run(service: str, settings_class: type[CloudSettings], serving_module: str) -> int:
    """`serving_module` holds `serve(settings)`; it is imported only once the settings are good:
    the SDKs take seconds to load, and a bad setting should fail at once."""
    # uvicorn handles SIGTERM while it serves, then re-raises it to the handler it found once it
    # has shut down gracefully; this handler (also in force while starting) makes that exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    settings = load_settings(settings_class, service)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The Azure SDKs and httpx log every request at INFO; keep their warnings only.
    for chatty in ("azure", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from system.dashboard import SignalrBundleMissing
    from system.services.backend.service import StartupFailed

    serve = importlib.import_module(serving_module).serve
    try:
        asyncio.run(serve(settings))
    except (StartupFailed, SignalrBundleMissing) as error:
        print(f"{service}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
