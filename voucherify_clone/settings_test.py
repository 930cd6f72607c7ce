"""Test overrides. DATABASE_URL still decides the database (SQLite locally, PostgreSQL in CI)."""

from .settings import *  # noqa: F403
from .settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
API_KEY_CACHE_SECONDS = 0  # tests revoke keys and expect the next request to fail
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
}
if CELERY_BROKER_URL.startswith("redis://"):  # noqa: F405 - CI: rate limits counted in Redis
    import secrets as _secrets

    CACHES["ratelimit"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CELERY_BROKER_URL.rsplit("/", 1)[0] + "/8",  # noqa: F405
        "KEY_PREFIX": "test-" + _secrets.token_hex(4),
        "TIMEOUT": 3600,
    }
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database lives in memory; WAL does not apply there.
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
LOGGING = {"version": 1, "disable_existing_loggers": False}

if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    # Tests that start a real worker get a broker directory of their own.
    import tempfile
    from pathlib import Path

    _broker = Path(tempfile.mkdtemp(prefix="vc-test-broker-"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker),
        "data_folder_out": str(_broker),
        "processed_folder": str(_broker),
        "control_folder": str(_broker / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
