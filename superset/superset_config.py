"""Superset's configuration for Safetynet (issue 22): read by Superset through
``SUPERSET_CONFIG_PATH`` in its own virtual environment (``.venv-superset``).

Everything comes from the environment, so one file serves the local stack
(``make superset``: tools/safetynet_dev/stack/superset.py sets the variables) and a
deployment (the compose service ``superset``: docs/superset.md):

* ``SUPERSET_DATABASE_URI`` or ``SUPERSET_DATABASE_URI_FILE`` (a secret file): the
  metadata database (PostgreSQL database ``superset``).
* ``SUPERSET_SECRET_KEY`` or ``SUPERSET_SECRET_KEY_FILE``: signs sessions and encrypts
  the stored warehouse passwords. Refused when missing, short or a known default,
  unless ``SAFETYNET_ENVIRONMENT=local`` (the embedded stack, as for the pseudonym
  key in include/safetynet/config.py); the local stack generates a random one anyway.

Offline by design (government networks are isolated): no map tiles (no Mapbox key, no
deck.gl/OSM hosts), and a content security policy naming no outside host, so the
browser loads nothing from elsewhere (neither fonts nor the telemetry pixel of the
"about" menu). Chinese is the default language, English the other one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

LOCAL_ENVIRONMENT = "local"
# Superset's own placeholder and the usual copy-paste values: never in a deployment.
DEFAULT_KEYS = frozenset(
    {
        "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
        "thisISaSECRET_1234",
        "TEST_NON_DEV_SECRET",
        "change-me",
        "changeme",
        "superset",
    }
)
MIN_KEY_LENGTH = 32


class SecretKeyError(RuntimeError):
    """SUPERSET_SECRET_KEY is missing or weak outside the local stack."""


def _is_local() -> bool:
    return os.environ.get("SAFETYNET_ENVIRONMENT", "").strip().lower() == LOCAL_ENVIRONMENT


def read_secret_key() -> str:
    """The key from ``SUPERSET_SECRET_KEY_FILE`` (a secret file) or ``SUPERSET_SECRET_KEY``;
    a missing, short or default key stops Superset outside the local stack."""
    path = os.environ.get("SUPERSET_SECRET_KEY_FILE", "")
    key = Path(path).read_text(encoding="utf-8").strip() if path else ""
    key = key or os.environ.get("SUPERSET_SECRET_KEY", "").strip()
    weak = not key or key in DEFAULT_KEYS or len(key) < MIN_KEY_LENGTH
    if weak and not _is_local():
        raise SecretKeyError(
            "SUPERSET_SECRET_KEY (or SUPERSET_SECRET_KEY_FILE) is missing, shorter than "
            f"{MIN_KEY_LENGTH} characters or a known default: generate one "
            "(openssl rand -base64 42) and keep it secret (docs/superset.md)"
        )
    if not key:
        raise SecretKeyError("SUPERSET_SECRET_KEY is not set (make superset generates one)")
    return key


def read_database_uri() -> str:
    """The metadata database's URL: ``SUPERSET_DATABASE_URI_FILE`` or the variable."""
    path = os.environ.get("SUPERSET_DATABASE_URI_FILE", "")
    uri = Path(path).read_text(encoding="utf-8").strip() if path else ""
    uri = uri or os.environ.get("SUPERSET_DATABASE_URI", "").strip()
    if not uri.startswith("postgresql"):
        raise RuntimeError("SUPERSET_DATABASE_URI(_FILE) must name a PostgreSQL database")
    return uri


SECRET_KEY = read_secret_key()
SQLALCHEMY_DATABASE_URI = read_database_uri()
SQLALCHEMY_TRACK_MODIFICATIONS = False

# Chinese by default, English on the language menu.
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}

FEATURE_FLAGS = {
    # Dashboards carry roles (superset/access.yml): the data-quality one is for
    # auditors (and admins) only.
    "DASHBOARD_RBAC": True,
    "ENABLE_TEMPLATE_PROCESSING": False,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    "PLAYWRIGHT_REPORTS_AND_THUMBNAILS": False,
    "EMBEDDED_SUPERSET": False,
}

# Offline: no map tiles, no fonts or pixels from outside, no outbound CORS.
MAPBOX_API_KEY = ""
# One entry is required (Superset 6.1's frontend reads the first at start and shows
# blank pages without one): a loopback address that never answers, which the content
# security policy below blocks anyway, so no map tile is ever asked for outside.
DECKGL_BASE_MAP = [["tile://http://127.0.0.1:9/{z}/{x}/{y}.png", "无底图 No base map (offline)"]]
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []
ENABLE_CORS = False
CORS_OPTIONS: dict[str, list[str]] = {}
STATIC_ASSETS_PREFIX = ""
_CSP = {
    "base-uri": ["'self'"],
    "default-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "worker-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "object-src": "'none'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "font-src": ["'self'", "data:"],
    "script-src": ["'self'", "'strict-dynamic'"],
}
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": _CSP,
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG

# Superset's own (logging) and anything else that would phone home: off.
LOG_LEVEL = "INFO"
# SQL Lab: read-only warehouse connections (the PostgreSQL roles enforce it too).
SQLLAB_TIMEOUT = 120
SQL_MAX_ROW = 100_000
DISPLAY_MAX_ROW = 10_000
# A session of a working day, then log in again.
PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
WEBSERVER_TIMEOUT = 120
# No Celery for SQL Lab: queries run in the web process (synchronous).
RESULTS_BACKEND = None
