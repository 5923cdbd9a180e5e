"""python -m system.services.backend: the cloud backend (the API, and the detector loop unless
SPY_BACKEND_RUN_DETECTOR=false) on uvicorn.

Prints `backend ready on http://HOST:PORT` once it accepts connections; exits as `entry.py`
says (0 on SIGTERM after draining within SPY_BACKEND_SHUTDOWN_GRACE_S, 2 for a bad setting, 1
when Key Vault did not answer within SPY_BACKEND_STARTUP_TIMEOUT_S). Settings: README.md beside
this file.
"""

from __future__ import annotations

import sys

from system.services.backend.entry import run
from system.services.backend.settings import BackendSettings

if __name__ == "__main__":
    sys.exit(run("backend", BackendSettings, "system.services.backend.service"))
