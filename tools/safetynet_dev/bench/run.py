"""``python -m safetynet_dev.bench.run``: the name ``make bench`` calls (``runner.main``)."""

import sys

from safetynet_dev.bench.runner import main

if __name__ == "__main__":
    sys.exit(main())
