"""Vigil settings: one module, every value from the environment.

Production differs from the embedded default only by environment variables;
the README's configuration table lists every one of them.
"""

from __future__ import annotations

import secrets
import zoneinfo
from pathlib import Path

import dj_database_url

from config.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VIGIL_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Return SECRET_KEY, or a key generated once and kept under the var dir."""
    key = env_str("SECRET_KEY", "")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "incidents",
    "escalation",
    "notifications",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'vigil.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
_database = dj_database_url.parse(
    DATABASE_URL,
    conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    conn_health_checks=True,
)
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["ENGINE"] = "config.postgresql"  # its health check: see there
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE
    # transactions take the write lock up front so concurrent writers queue
    # on the busy timeout instead of failing with "database is locked".
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
    }
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-vigil.sqlite3")}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

# --- Time -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("VIGIL_TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ConfigurationError(
        f"VIGIL_TIME_ZONE={TIME_ZONE!r} is not an IANA time zone "
        "(e.g. UTC, Europe/Paris)"
    ) from None

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- HTTPS (production behind a TLS-terminating proxy) ----------------------
VIGIL_HTTPS = env_bool("VIGIL_HTTPS", default=False)
SESSION_COOKIE_SECURE = VIGIL_HTTPS
CSRF_COOKIE_SECURE = VIGIL_HTTPS
SECURE_SSL_REDIRECT = VIGIL_HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if VIGIL_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = VIGIL_HTTPS
SECURE_HSTS_PRELOAD = VIGIL_HTTPS
if VIGIL_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------
_renderers = ["rest_framework.renderers.JSONRenderer"]
if DEBUG:
    _renderers.append("rest_framework.renderers.BrowsableAPIRenderer")
REST_FRAMEWORK = {
    # Token first so that a request without credentials gets 401 with a
    # WWW-Authenticate header rather than the session's 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "config.api.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": _renderers,
    "DEFAULT_PARSER_CLASSES": [
        "config.api.JSONParser",
        "config.api.FormParser",
        "config.api.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Vigil API",
    "DESCRIPTION": (
        "Incident response: incidents by severity, their lifecycle, roles and "
        "timeline; integrations and alerts; contact methods, notification rules, "
        "channels and the delivery log; on-call schedules, overrides and swaps. "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The refusals every operation can answer (a bad query parameter or body:
    # 400; no or bad credentials: 401/403; an id that names nothing: 404),
    # documented where not declared; and links from what a POST creates to
    # the operations on it.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.document_refusals",
        "config.schema.link_created_objects",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "IntegrationKindEnum": "incidents.models.Integration.Kind",
        "TimelineKindEnum": "incidents.models.TimelineEvent.Kind",
        "ContactKindEnum": "notifications.models.Kind",
        "ChannelKindEnum": "notifications.models.CHANNEL_KINDS",
        # Named here, or the shifts' `source` choices would rename this one.
        "SourceEnum": "incidents.models.AlertEvent.Source",
        "WeekdayEnum": "escalation.models.Weekday",
        "ShiftUnitEnum": "escalation.models.ShiftUnit",
        "ShiftSourceEnum": "escalation.serializers.schedules.SHIFT_SOURCES",
    },
    # Swagger UI's assets come from the installed sidecar package, not a CDN,
    # so /api/docs/ works on machines without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Ingestion --------------------------------------------------------------
VIGIL_INGEST_MAX_BYTES = env_int("VIGIL_INGEST_MAX_BYTES", 512 * 1024, minimum=1024)
# Seconds an unknown integration key waits before its 404.
VIGIL_INGEST_UNKNOWN_KEY_DELAY = (
    env_int("VIGIL_INGEST_UNKNOWN_KEY_DELAY_MS", 250, minimum=0) / 1000
)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    "filesystem://",
    schemes={"filesystem", "amqp", "amqps", "pyamqp", "memory"},
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Channels ---------------------------------------------------------------
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Email ------------------------------------------------------------------
# Without EMAIL_HOST, mail is printed to the console (the embedded default).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vigil <vigil@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Notifications ----------------------------------------------------------
# Links in messages (acknowledge, resolve, the incident) start with this.
VIGIL_BASE_URL = env_url(
    "VIGIL_BASE_URL", "http://127.0.0.1:8000", schemes={"http", "https"}
).rstrip("/")
# Outbound HTTP (chat webhooks, generic webhooks, Twilio) never reaches
# loopback, private or link-local addresses unless listed here: comma-separated
# IP networks ("127.0.0.1/32", "10.0.0.0/8") or host names.
VIGIL_OUTBOUND_ALLOWLIST = env_list("VIGIL_OUTBOUND_ALLOWLIST", [])
VIGIL_OUTBOUND_TIMEOUT = env_int("VIGIL_OUTBOUND_TIMEOUT", 10, minimum=1)
# How long acknowledge/resolve links in messages stay valid.
VIGIL_ACTION_LINK_HOURS = env_int("VIGIL_ACTION_LINK_HOURS", 24, minimum=1)
# A delivery left in "sending" this long belonged to a worker that died
# mid-send; the recovery sweep sends it again (see docs/notifications.md).
VIGIL_DELIVERY_LEASE_SECONDS = env_int("VIGIL_DELIVERY_LEASE_SECONDS", 120, minimum=5)
VIGIL_DELIVERY_MAX_ATTEMPTS = env_int("VIGIL_DELIVERY_MAX_ATTEMPTS", 6, minimum=1)
# An escalation step due within this many seconds is handed to the broker as
# a task with an ETA; later ones are fired by the sweep. Keep it well under
# RabbitMQ's consumer_timeout (30 min by default): a worker holds an ETA task
# unacknowledged until it runs.
VIGIL_ESCALATION_ETA_MAX_SECONDS = env_int(
    "VIGIL_ESCALATION_ETA_MAX_SECONDS", 600, minimum=0
)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_BASE_URL = env_url(
    "TWILIO_BASE_URL", "https://api.twilio.com", schemes={"http", "https"}
).rstrip("/")

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env_choice(
    "LOG_LEVEL", "INFO", choices={"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {"redact_paths": {"()": "config.accesslog.RedactRequestPaths"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # httpx logs every request's URL at INFO, and webhook URLs are secrets.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # "Not Found: <path>" and the like: a calendar feed's path is its key.
        "django.request": {"filters": ["redact_paths"]},
    },
}
