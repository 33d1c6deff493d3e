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


CACHE_PROBE = textwrap.dedent(
    """
    import os, sys, tempfile
    from safetynet.quality import datadocs, gximport
    gximport.load()
    from great_expectations.render.view.view import DefaultJinjaPageView
    plain = DefaultJinjaPageView().env.get_template("favicon.j2").render(static_images_dir="img/")
    datadocs.cache_compiled_templates()
    datadocs.cache_compiled_templates()  # once per process
    first, second = DefaultJinjaPageView(), DefaultJinjaPageView()
    print("shared", first.env.bytecode_cache is second.env.bytecode_cache is not None)
    cached = first.env.get_template("favicon.j2").render(static_images_dir="img/")
    again = second.env.get_template("favicon.j2").render(static_images_dir="img/")
    print("same_page", plain == cached == again)
    folder = first.env.bytecode_cache.directory
    print("cached_files", len(os.listdir(folder)) > 0)
    print("private", oct(os.stat(folder).st_mode & 0o777))
    """
)


def test_data_docs_templates_are_compiled_once(tmp_path) -> None:
    """(issue 23) GX's Jinja templates come from a per-user bytecode cache; the page is the
    same as without it."""
    done = subprocess.run(
        [sys.executable, "-c", CACHE_PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**__import__("os").environ, "TMPDIR": str(tmp_path)},
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["shared"] == "True"
    assert lines["same_page"] == "True"
    assert lines["cached_files"] == "True"
    assert lines["private"] == "0o700"
