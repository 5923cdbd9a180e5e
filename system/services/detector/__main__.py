"""python -m system.services.detector: the detector loop as a service of its own, beside a
backend started with SPY_BACKEND_RUN_DETECTOR=false (the spy-detector image, Container Instances).

Prints `detector ready on http://HOST:PORT` once it serves /health, /ready and /metrics; exits
as `system/services/backend/entry.py` says. Settings: README.md beside this file.
"""

from __future__ import annotations

import sys

from system.services.backend.entry import run
from system.services.detector.settings import DetectorSettings

if __name__ == "__main__":
    sys.exit(run("detector", DetectorSettings, "system.services.detector.service"))
