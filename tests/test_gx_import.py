"""(issue 23) The checks import GX without scipy.stats and altair; anything that uses them
still gets them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.unit

PROBE = textwrap.dedent(
    """
    import sys
    from safetynet.quality import gximport
    gx = gximport.load()
    assert hasattr(gx, "get_context")
    import logging
    fluent = logging.getLogger("great_expectations.datasource.fluent.config_str")
    print("gx_info_logged", fluent.isEnabledFor(logging.INFO))
    print("gx_warnings_logged", fluent.isEnabledFor(logging.WARNING))
    print("loaded_before_use", "scipy.stats._stats_py" in sys.modules)
    print("altair_before_use", "altair.vegalite" in sys.modules)
    import great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than as kl
    print("entropy", kl.stats.entropy([0.5, 0.5], [0.5, 0.5]))
    print("loaded_after_use", "scipy.stats._stats_py" in sys.modules)
    print("chart", type(kl.alt.Chart({"values": []}).mark_bar()).__name__)
    print("altair_after_use", "altair.vegalite" in sys.modules)
    """
)


def test_deferred_modules_are_imported_only_when_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["loaded_before_use"] == "False"  # GX imported without it
    assert float(lines["entropy"]) == 0.0  # the stand-in gives the real function
    assert lines["loaded_after_use"] == "True"
    assert lines["altair_before_use"] == "False"
    assert lines["chart"] == "Chart"  # a renderer's chart is the real altair's
    assert lines["altair_after_use"] == "True"
    # GX's INFO chatter stays out of the task logs, its warnings do not
    assert (lines["gx_info_logged"], lines["gx_warnings_logged"]) == ("False", "True")
