"""Django settings for Heard. The store works from the CLI without a web server.

SQLite at ``$HEARD_HOME/heard.sqlite3`` by default; PostgreSQL when ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from heard.paths import heard_home, sqlite_path


def database_from_url(url: str) -> dict:
    """Turn ``postgres://user:pass@host:port/name`` or ``sqlite:///path`` into a Django DB dict."""
    parts = urlparse(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgres", "postgresql", "pgsql"):
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
        }
    if scheme == "sqlite":
        return _sqlite(unquote(parts.path) or str(sqlite_path()))
    raise ValueError(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported; use postgres://… or sqlite:///…"
    )


def _sqlite(path: str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
            ),
        },
    }


HEARD_HOME = heard_home()
DEBUG = os.environ.get("HEARD_DEBUG", "") == "1"


def _secret_key() -> str:
    """HEARD_SECRET_KEY, else the key `heard serve` keeps in HEARD_HOME, else a local default."""
    if key := os.environ.get("HEARD_SECRET_KEY"):
        return key
    stored = HEARD_HOME / "secret_key"
    if stored.is_file():
        return stored.read_text(encoding="utf-8").strip()
    return "heard-local-only-change-me"


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h for h in os.environ.get("HEARD_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "heard.store",
    "heard.web",
]

MIDDLEWARE = [
    "heard.web.middleware.SecurityHeadersMiddleware",  # outermost: every response has them
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if url := os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(url)}
else:
    DATABASES = {"default": _sqlite(str(sqlite_path()))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-gb"
STATIC_URL = "/static/"

# ---------------------------------------------------------------- web app
ROOT_URLCONF = "heard.web.urls"
LOGIN_URL = "heard:sign-in"
LOGIN_REDIRECT_URL = "heard:home"
# GOV.UK Frontend's built files (`make frontend`) and the app's own static files are served
# by WhiteNoise straight from their folders, so no collectstatic step is needed.
STATICFILES_DIRS = [
    d for d in [Path(__file__).resolve().parent / "web" / "build"] if d.is_dir()
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
HTTPS = os.environ.get("HEARD_HTTPS", "") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
if origins := os.environ.get("HEARD_CSRF_TRUSTED_ORIGINS"):
    CSRF_TRUSTED_ORIGINS = [o for o in origins.split(",") if o]
# Sign-in limits within the window (heard.web.ratelimit): attempts per account, and per
# network address (one password tried on many accounts).
LOGIN_FAILURE_LIMIT = int(os.environ.get("HEARD_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_LIMIT = int(os.environ.get("HEARD_LOGIN_ADDRESS_LIMIT", "20"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("HEARD_LOGIN_FAILURE_WINDOW", str(15 * 60)))
# Uploads through the browser: the largest file accepted, in bytes.
UPLOAD_MAX_BYTES = int(os.environ.get("HEARD_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# Optional single sign-on through any OpenID Connect provider (`pip install heard[oidc]`).
# Switched on when the HEARD_OIDC_* settings below are all present.
_OIDC = {
    name: os.environ.get(f"HEARD_OIDC_{name}", "")
    for name in ("CLIENT_ID", "CLIENT_SECRET", "AUTHORIZATION_ENDPOINT", "TOKEN_ENDPOINT",
                 "USER_ENDPOINT", "JWKS_ENDPOINT")
}
OIDC_ENABLED = all(_OIDC.values())
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("heard.web.oidc.HeardOIDCBackend")
    OIDC_RP_CLIENT_ID = _OIDC["CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = _OIDC["CLIENT_SECRET"]
    OIDC_OP_AUTHORIZATION_ENDPOINT = _OIDC["AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = _OIDC["TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = _OIDC["USER_ENDPOINT"]
    OIDC_OP_JWKS_ENDPOINT = _OIDC["JWKS_ENDPOINT"]
    OIDC_RP_SIGN_ALGO = os.environ.get("HEARD_OIDC_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = "openid email profile"
    # Accounts are created by `heard user add`; OIDC signs existing people in.
    OIDC_CREATE_USER = os.environ.get("HEARD_OIDC_CREATE_USER", "") == "1"
    LOGIN_REDIRECT_URL_FAILURE = "/sign-in/"
LOGGING = {"version": 1, "disable_existing_loggers": False}
