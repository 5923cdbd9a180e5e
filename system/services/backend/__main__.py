"""python -m system.services.backend: the cloud backend (API + detector loop) on uvicorn.

Prints `backend ready on http://HOST:PORT` once it accepts connections; exits 0 on SIGTERM or
Ctrl-C after draining within SPY_BACKEND_SHUTDOWN_GRACE_S; exits 2 with one line naming the
setting when a setting is missing or invalid, 1 when a dependency needed to start (Key Vault)
did not answer within SPY_BACKEND_STARTUP_TIMEOUT_S. Settings: README.md beside this file.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from types import FrameType

from pydantic import ValidationError

from system.services.backend.settings import BackendSettings, describe


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    # uvicorn handles SIGTERM while it serves, then re-raises it to the handler it found once it
    # has shut down gracefully; this handler (also in force while starting) makes that exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        settings = BackendSettings()
    except ValidationError as error:
        print(f"backend: {describe(error)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The Azure SDKs and httpx log every request at INFO; keep their warnings only.
    for chatty in ("azure", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # Imported only now: the SDKs take seconds to load, and a bad setting should fail at once.
    from system.dashboard import SignalrBundleMissing
    from system.services.backend.service import StartupFailed, serve

    try:
        asyncio.run(serve(settings))
    except (StartupFailed, SignalrBundleMissing) as error:
        print(f"backend: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
