"""``python -m safetynet_dev.bench [options]`` (``--help``)."""

import sys

from safetynet_dev.bench.runner import main

sys.exit(main())
