"""Vigil settings: one module, every value from the environment.

Over 400 lines on purpose: Django's one settings module, so that every
setting and the environment variable behind it is found in one place.

Production differs from the embedded default only by environment variables;
the README's configuration table lists every one of them.
"""

from __future__ import annotations

import secrets
import sys
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE

from config.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)
from config.strict_json import DEPTH_CEILING

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
    "csp",
    "axes",
    # In their dependency order (docs/architecture.md): each app's receivers
    # of the incident core's signals run in this order.
    "incidents",
    "notifications",
    "escalation",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
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
    # The ingest path's statements are prepared once per connection
    # (config/postgresql), and nothing else: Django's own cursors bind on
    # the client and are never prepared, whatever the threshold.
    _database.setdefault("OPTIONS", {})["prepare_threshold"] = (
        sys.maxsize if env_bool("DATABASE_PREPARED_STATEMENTS", default=True) else None
    )
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

# --- Login throttling (django-axes) -----------------------------------------
# Every password login (the admin's, and any login form using Django's
# authenticate()) goes through django-axes: after VIGIL_LOGIN_FAILURE_LIMIT
# failures for one username from one address, that pair is refused, even
# with the right password, until VIGIL_LOGIN_LOCKOUT_MINUTES have passed
# or an admin unlocks it (`manage.py axes_reset_username <name>`, or delete
# the access attempt in the admin). Other users and addresses are unaffected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("VIGIL_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_int("VIGIL_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Reverse proxies in front of Vigil that append to X-Forwarded-For: the
# client's address is then read from that header (config.auth.client_address).
VIGIL_TRUSTED_PROXIES = env_int("VIGIL_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "config.auth.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "incidents/login_locked.html"
# Successful logins are Django's business; Axes keeps only the failures.
AXES_DISABLE_ACCESS_LOG = True

# --- Time -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Times in the admin say their zone (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
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
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every response: scripts, styles, images and connections from our own origin
# only (Swagger UI's start-up script is a file, see config/urls.py), never in
# a frame. Inline styles stay allowed: the admin and the respond page use
# style attributes; inline scripts and event handlers do not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

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
    # Writes need the admin's model permissions (the "Responders" group).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "config.permissions.ModelPermissions",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "config.api.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": _renderers,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # JSON as ingest reads it (standard, depth-bounded, no NUL); forms with
    # no NUL character either.
    "DEFAULT_PARSER_CLASSES": [
        "config.api.StrictJSONParser",
        "config.api.FormParser",
        "config.api.MultiPartParser",
    ],
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
        "StatusUpdateAudienceEnum": "incidents.models.StatusUpdate.Audience",
        "ReviewStateEnum": "incidents.models.reviews.PostIncidentReview.State",
        "ActionItemStatusEnum": "incidents.models.reviews.ActionItem.Status",
        "IntegrationKindEnum": "incidents.models.Integration.Kind",
        "TimelineKindEnum": "incidents.timeline.timeline_kind_choices",
        "ContactKindEnum": "notifications.models.Kind",
        "ChannelKindEnum": "notifications.models.CHANNEL_KINDS",
        # Named here, or the shifts' `source` choices would rename this one.
        "SourceEnum": "incidents.models.AlertEvent.Source",
        "EscalationStateEnum": "escalation.models.Escalation.State",
        "WeekdayEnum": "escalation.models.Weekday",
        "ShiftUnitEnum": "escalation.models.ShiftUnit",
        "ShiftSourceEnum": "escalation.serializers.schedules.SHIFT_SOURCES",
        # An escalation step's outcome keeps its name beside a drill's.
        "OutcomeEnum": "escalation.models.EscalationStep.Outcome",
        "DrillOutcomeEnum": "escalation.drill_scores.Outcome",
        "DrillStateEnum": "escalation.models.Drill.State",
        "DrillModeEnum": "escalation.models.DrillMode",
        "DrillFrequencyEnum": "escalation.models.DrillSchedule.Frequency",
        "DrillAlertFormatEnum": "escalation.models.DrillScenario.Format",
        "DrillExpectationEnum": "escalation.models.DrillScenario.Expectation",
    },
    # Swagger UI's assets come from the installed sidecar package, not a CDN,
    # so /api/docs/ works on machines without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Ingestion --------------------------------------------------------------
VIGIL_INGEST_MAX_BYTES = env_int("VIGIL_INGEST_MAX_BYTES", 512 * 1024, minimum=1024)
# How deeply a JSON body (an alert, an API request) may nest arrays and
# objects; deeper is refused with 400. Capped well below the depth at which
# Python's recursive JSON code (decoding a stored event, showing it) would
# run out of stack.
VIGIL_JSON_MAX_DEPTH = env_int(
    "VIGIL_JSON_MAX_DEPTH", 64, minimum=2, maximum=DEPTH_CEILING
)
# Minutes a status update may stay overdue after the Communications Lead
# was reminded before the incident commander and team lead are paged.
VIGIL_UPDATE_OVERDUE_GRACE_MINUTES = env_int(
    "VIGIL_UPDATE_OVERDUE_GRACE_MINUTES", 15, minimum=1
)
# Minutes a drill waits, postponed because a real P0/P1 of its team is open,
# before the drills sweep tries to start it again.
VIGIL_DRILL_POSTPONE_MINUTES = env_int("VIGIL_DRILL_POSTPONE_MINUTES", 15, minimum=1)
# Attempts at applying a received event before the worker quarantines it
# (keeps it, marked failed with its error) and goes on with the next.
VIGIL_INGEST_MAX_ATTEMPTS = env_int("VIGIL_INGEST_MAX_ATTEMPTS", 3, minimum=1)
# Seconds an unknown integration key waits before its 404.
VIGIL_INGEST_UNKNOWN_KEY_DELAY = (
    env_int("VIGIL_INGEST_UNKNOWN_KEY_DELAY_MS", 250, minimum=0) / 1000
)

# New alerts (distinct dedup keys) one integration may open in a minute;
# past it, ingest answers 429 with Retry-After. Triggers of a key already
# open or seen this minute never count. 0 turns the quota off.
VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = env_int("VIGIL_INGEST_NEW_ALERTS_PER_MINUTE", 120)
# Incidents one integration may declare in a minute; past it, its further
# new alerts are folded into one "alert flood" incident. 0 turns it off.
VIGIL_FLOOD_INCIDENTS_PER_MINUTE = env_int("VIGIL_FLOOD_INCIDENTS_PER_MINUTE", 20)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    "filesystem://",
    schemes={"filesystem", "amqp", "amqps", "pyamqp", "memory"},
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, changed so that a consumer never reads a
    # message that is still being written (config/broker.py). Its folders
    # must share one filesystem: messages move between them by renaming.
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "staging", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "staging_folder": str(_broker_dir / "staging"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Channels ---------------------------------------------------------------
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# How often an open websocket checks that its session still signs its user in
# (not signed out, not expired, user still active); signing out closes it at
# once as well.
VIGIL_WS_SESSION_CHECK_SECONDS = env_int(
    "VIGIL_WS_SESSION_CHECK_SECONDS", 60, minimum=1
)

# --- Email ------------------------------------------------------------------
# Without EMAIL_HOST (the embedded default), mail is written to files under
# var/outbox/, readable by the owner only: pages carry acknowledge links and
# verification codes, which must not end up in a console or a process log.
EMAIL_HOST = env_str("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox"
    EMAIL_FILE_PATH.mkdir(mode=0o700, exist_ok=True)
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vigil <vigil@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Notifications ----------------------------------------------------------
# The port `make run` serves on; without VIGIL_BASE_URL, links point there.
PORT = env_int("PORT", 8000, minimum=1)
# Links in messages (acknowledge, resolve, the incident) start with this.
VIGIL_BASE_URL = env_url(
    "VIGIL_BASE_URL", f"http://127.0.0.1:{PORT}", schemes={"http", "https"}
).rstrip("/")
# Outbound HTTP (chat webhooks, generic webhooks, Twilio) never reaches
# loopback, private or link-local addresses unless listed here: comma-separated
# IP networks ("127.0.0.1/32", "10.0.0.0/8") or host names.
VIGIL_OUTBOUND_ALLOWLIST = env_list("VIGIL_OUTBOUND_ALLOWLIST", [])
VIGIL_OUTBOUND_TIMEOUT = env_int("VIGIL_OUTBOUND_TIMEOUT", 10, minimum=1)
# How long acknowledge/resolve links in messages stay valid.
VIGIL_ACTION_LINK_HOURS = env_int("VIGIL_ACTION_LINK_HOURS", 24, minimum=1)
# Post-incident reviews: the owner is reminded this long before each deadline
# (initial report, review meeting); this long after a missed deadline the team
# lead is told, and twice as long after, the team's manager.
VIGIL_PIR_REMIND_BEFORE_HOURS = env_int("VIGIL_PIR_REMIND_BEFORE_HOURS", 4, minimum=1)
VIGIL_PIR_ESCALATE_AFTER_HOURS = env_int(
    "VIGIL_PIR_ESCALATE_AFTER_HOURS", 24, minimum=1
)
# Incidents sharing an alert fingerprint, dedup key or root-cause tag with an
# earlier one of the same team within this many days are linked as repeats.
VIGIL_RECURRENCE_LOOKBACK_DAYS = env_int(
    "VIGIL_RECURRENCE_LOOKBACK_DAYS", 90, minimum=1
)
# What any user can make Vigil send to addresses not yet proven theirs:
# contact methods waiting for their code, and verification codes an hour.
VIGIL_MAX_UNVERIFIED_CONTACT_METHODS = env_int(
    "VIGIL_MAX_UNVERIFIED_CONTACT_METHODS", 5, minimum=1
)
VIGIL_VERIFICATION_SENDS_PER_HOUR = env_int(
    "VIGIL_VERIFICATION_SENDS_PER_HOUR", 10, minimum=1
)
# The quarterly contact-method test (docs/contact-tests.md): a round starts on
# the quarter's first day at this local hour (or at the first sweep after);
# a test left unconfirmed this many hours is sent again as a reminder, and
# this many hours after the reminder it is reported to the person's team
# leads.
VIGIL_CONTACT_TEST_HOUR = env_int("VIGIL_CONTACT_TEST_HOUR", 10, minimum=0, maximum=23)
VIGIL_CONTACT_TEST_REMIND_HOURS = env_int(
    "VIGIL_CONTACT_TEST_REMIND_HOURS", 72, minimum=1
)
VIGIL_CONTACT_TEST_REPORT_HOURS = env_int(
    "VIGIL_CONTACT_TEST_REPORT_HOURS", 72, minimum=1
)
# SMS replies ("ACK 4821") with this many wrong codes within the lockout
# from a number, or from the numbers of one user, lock them out until the
# oldest of those failures is that old: 4-digit codes must not be guessed.
VIGIL_SMS_REPLY_MAX_FAILURES = env_int("VIGIL_SMS_REPLY_MAX_FAILURES", 5, minimum=1)
VIGIL_SMS_REPLY_LOCKOUT_MINUTES = env_int(
    "VIGIL_SMS_REPLY_LOCKOUT_MINUTES", 15, minimum=1
)
# The public status page (docs/status-page.md): how long a rendering is
# served before it is read again (a change shows at once in the process that
# made it, within this many seconds everywhere); how long a subscription's
# confirmation link lasts; public sign-ups allowed per client address an hour.
# The status page's renderings are shared by every web process of the host
# (files under the var dir): when one is due, one process rebuilds it while
# the others serve the copy they have, and a change made by any process is
# seen by all once that rebuild is done.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "statuspage": {
        "BACKEND": "config.cache.ExclusiveAddFileCache",
        "LOCATION": str(VAR_DIR / "cache" / "statuspage"),
    },
}
VIGIL_STATUS_CACHE_SECONDS = env_int(
    "VIGIL_STATUS_CACHE_SECONDS", 2, minimum=0, maximum=4
)
VIGIL_STATUS_CONFIRM_HOURS = env_int("VIGIL_STATUS_CONFIRM_HOURS", 48, minimum=1)
VIGIL_STATUS_SIGNUPS_PER_HOUR = env_int("VIGIL_STATUS_SIGNUPS_PER_HOUR", 5, minimum=1)
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
# Prometheus's scrape of /metrics must send `Authorization: Bearer <this>`;
# empty leaves /metrics open (bind it to a private network then).
VIGIL_METRICS_TOKEN = env_str("VIGIL_METRICS_TOKEN", "")
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
        # "Not Found: <path>" and the like: a calendar feed's path is its key,
        # an acknowledge link's path acts as the person paged.
        "django.request": {"filters": ["redact_paths"]},
    },
}
