"""``python -m safetynet_dev.synth --out DIR --start YYYY-MM-DD [...]``."""

import sys

from safetynet_dev.synth.cli import main

sys.exit(main())
