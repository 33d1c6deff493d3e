"""(issue 23) ``import great_expectations`` without the parts the checks never use.

Importing GX takes ~1.6 s of CPU in each check task (check_raw, publish_feed), about a third
of it ``scipy.stats`` (0.6 s CPU, 0.8 s wall, with the scipy subpackages it pulls in),
imported at module level by the distribution expectations (KL divergence, KS tests), none
of which is in ``expectations/``. ``load()`` puts a stand-in for those modules in
``sys.modules`` before the first GX import: the real module is imported the first time
anything reads an attribute of it, so an expectation that needs it still gets it and
every result stays the same; the checks of this project only never pay for it. Measured
(800 households, 2 days, shared 2 cores): check_raw 2.7 -> 2.2 s CPU.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from typing import Any

# imported by GX at module level, used only inside expectations this project does not run
# (scipy.stats: distribution tests) or renderers it does not call (altair: charts of
# column profiles; ~0.2 s CPU per check task)
DEFERRED = ("scipy.stats", "altair")
# GX logs at INFO ~210 "Skipping registering function ..." lines while it is imported and
# ~150 more per check run (fluent config substitution, "_get_default_value called with
# key ...", batch slices): noise in every check task's log, and each line a message
# through the task supervisor. Its warnings and errors still show; the checks' own
# results are logged by safetynet.quality.
QUIET_LOGGERS = ("great_expectations",)


class _Deferred(types.ModuleType):
    """Stands in for a module until an attribute of it is read; then imports it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        # import statements read __spec__ (not its attributes): known without loading
        self.__spec__ = importlib.util.find_spec(name)

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)  # later reads need no lookup
        return getattr(real, attribute)


def load() -> Any:
    """``great_expectations``, imported with ``DEFERRED`` standing in until used."""
    if "great_expectations" not in sys.modules:
        for logger in QUIET_LOGGERS:
            logging.getLogger(logger).setLevel(logging.WARNING)
        for name in DEFERRED:
            if name not in sys.modules:
                sys.modules[name] = _Deferred(name)
    import great_expectations

    return great_expectations
