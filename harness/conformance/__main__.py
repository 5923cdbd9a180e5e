"""python -m harness.conformance"""

import sys

from harness.conformance.run import main

sys.exit(main())
