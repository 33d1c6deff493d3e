"""dbt's `modules` context for the sqlfluff Jinja templater (see ../.sqlfluff):
the Python modules dbt exposes to Jinja, so the project's macros that use
them (modules.re, modules.datetime) render as in dbt."""

import datetime
import itertools
import re

__all__ = ["datetime", "itertools", "re"]
