"""The only settings module. Every deploy-time value comes from the environment.

With no environment at all the app runs embedded: SQLite (WAL) in ./var and a Celery broker on the
local filesystem, so a fresh machine with only Python runs the whole stack. Set DATABASE_URL and
CELERY_BROKER_URL to use PostgreSQL and Redis. README.md and .env.example list every variable.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")


def envbool(name: str, default: bool) -> bool:
    """Strict boolean: only True/False (any case) or 1/0; anything else is a configuration error."""
    raw = env.str(name, default=str(default))
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ImproperlyConfigured(f"{name} must be True or False, got {raw!r}")


DEBUG = envbool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is False")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "ninja",  # serves its Swagger UI from our static files (no CDN: the app works offline)
    "import_export",
    "template_partials",
    "apps.core",
    "apps.projects",
    "apps.jobs",
    "apps.metadata",
    "apps.customers",
    "apps.products",
    "apps.orders",
    "apps.segments",
    "apps.campaigns",
    "apps.rules",
    "apps.redemptions",
    "apps.imports",
    "apps.exports",
    "apps.api",
    "apps.webhooks",
    "apps.distributions",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.api.cors.ClientCorsMiddleware",
    # the dashboard's own: Django's, django-htmx's and ours, skipped for /v1 and /client/v1
    "apps.core.dashboard_middleware.SessionMiddleware",
    "apps.core.dashboard_middleware.CommonMiddleware",
    "apps.core.dashboard_middleware.CsrfViewMiddleware",
    "apps.core.dashboard_middleware.AuthenticationMiddleware",
    "apps.core.dashboard_middleware.LoginRequiredMiddleware",
    "apps.core.dashboard_middleware.CurrentProjectMiddleware",
    "apps.core.dashboard_middleware.MessageMiddleware",
    "apps.core.dashboard_middleware.XFrameOptionsMiddleware",
    "apps.core.dashboard_middleware.HtmxMiddleware",
    "apps.core.dashboard_middleware.HtmxMessagesMiddleware",
]

ROOT_URLCONF = "voucherify_clone.urls"
WSGI_APPLICATION = "voucherify_clone.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.projects.context_processors.current_project",
            ],
            "builtins": [
                "apps.core.templatetags.core_tags",
                "template_partials.templatetags.partials",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default, anything django-environ understands otherwise.
# runs of a query on a connection before the checkout prepares it (apps.core.prepared)
DATABASE_PREPARE_THRESHOLD = None
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the Celery worker writes; IMMEDIATE takes the
        # write lock at BEGIN so concurrent writers wait (timeout) instead of failing mid-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with the connection health check at most once a second per connection
        DATABASES["default"]["ENGINE"] = "apps.core.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Server-side binding lets psycopg prepare statements. Connections prepare nothing by
        # default; the checkout services turn it on for their own queries, which run the second
        # time on a connection as prepared statements (apps.core.prepared says why not others).
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=None
        )
        DATABASE_PREPARE_THRESHOLD = 2
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    # API rate-limit counters: Redis in production (every worker must see one count)
    "ratelimit": env.cache("RATE_LIMIT_CACHE_URL", default="locmemcache://ratelimit"),
}
API_RATE_LIMIT_CACHE = "ratelimit"
API_SERVER_RATE_LIMIT = env.int("API_SERVER_RATE_LIMIT", default=60_000)  # per key per minute
API_CLIENT_FAILED_CODE_LIMIT = env.int("API_CLIENT_FAILED_CODE_LIMIT", default=10)
API_CLIENT_FAILED_CODE_WINDOW = env.int("API_CLIENT_FAILED_CODE_WINDOW", default=900)  # seconds
# verified API keys are cached per process for this long (a revocation takes effect within it)
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=5)
API_TRUST_X_FORWARDED_FOR = env.bool("API_TRUST_X_FORWARDED_FOR", default=False)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)  # seconds per attempt
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=20)  # failed attempts in a row

# Distributions: messages per second per channel (empty: no limit), counted in the rate-limit
# cache; how long a worker holds a batch of deliveries before another may take it over.
DISTRIBUTION_RATE_LIMITS = {
    "email": env.int("DISTRIBUTION_RATE_EMAIL", default=0) or None,
    "sms": env.int("DISTRIBUTION_RATE_SMS", default=10) or None,
    "webhook": env.int("DISTRIBUTION_RATE_WEBHOOK", default=0) or None,
}
DISTRIBUTION_CLAIM_SECONDS = env.int("DISTRIBUTION_CLAIM_SECONDS", default=300)
# SMS: the log provider for development; TwilioProvider posts to a Twilio-style REST API.
SMS_BACKEND = env.str("SMS_BACKEND", default="apps.distributions.sms.LogProvider")
SMS_API_URL = env.str("SMS_API_URL", default="")
SMS_ACCOUNT_SID = env.str("SMS_ACCOUNT_SID", default="")
SMS_AUTH_TOKEN = env.str("SMS_AUTH_TOKEN", default="")
SMS_FROM = env.str("SMS_FROM", default="")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"

# Email: console by default; smtp://user:pass@host:587 or similar in production.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Voucherify Clone <noreply@localhost>")
DISTRIBUTION_FROM_EMAIL = env.str("DISTRIBUTION_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="USD")

# Celery. The embedded default is kombu's filesystem transport: a real broker with a real
# worker process, and no server to install.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # the worker looks for messages this often (kombu's default, 1 s, let a backlog of
        # small tasks drain at two a second, one per worker process)
        "polling_interval": 0.1,
    }
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "interactive"
# Two queues: checkout side effects never wait behind a million-row import.
CELERY_TASK_ROUTES = {"bulk.*": {"queue": "bulk"}}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "jobs.reap_stale": {"task": "jobs.reap_stale", "schedule": crontab(minute="*/10")},
    "imports.reap_stale": {"task": "imports.reap_stale", "schedule": crontab(minute="1-59/10")},
    "segments.recompute_time_based": {
        "task": "segments.recompute_time_based",
        "schedule": crontab(minute=3),
    },
    "webhooks.sweep": {"task": "webhooks.sweep", "schedule": 60.0},
    # scheduled sends, delayed triggers, retries and sends whose worker died
    "distributions.sweep": {"task": "distributions.sweep", "schedule": 30.0},
    "redemptions.sessions_expire": {
        "task": "redemptions.sessions_expire",
        "schedule": crontab(minute="5-59/15"),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django would add a bare "Bad Request: /v1/redemptions" warning for every 4xx: the API
        # logs its refusals itself (apps.api.errors, with key and request id), and the
        # dashboard's 404s are not worth a warning. Server errors are still logged here.
        "django.request": {"level": "ERROR"},
        "pyBarcode": {"level": "WARNING"},  # "Pillow not found": barcodes are SVG only
    },
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
