import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def env_vars_read_by_settings() -> set[str]:
    source = (ROOT / "voucherify_clone" / "settings.py").read_text()
    return set(re.findall(r'(?:env\.\w+|envbool)\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_environment_variable_is_documented():
    names = env_vars_read_by_settings()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"} <= names
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert [n for n in sorted(names) if f"`{n}`" not in readme] == []
    assert [n for n in sorted(names) if f"#{n}=" not in example] == []


def run_settings(env: dict) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "voucherify_clone.settings"}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True
    )


def test_embedded_defaults_without_environment():
    result = run_settings({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "filesystem://"]


def test_environment_selects_postgres_and_redis():
    result = run_settings(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == [
        "apps.core.postgresql",  # Django's, with a cheaper health check
        "redis://127.0.0.1:6379/3",
    ]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"DEBUG": "yes"}, "DEBUG must be True or False"),
        ({"DEBUG": "False"}, "SECRET_KEY must be set"),
    ],
)
def test_strict_settings_refuse_bad_values(env, error):
    result = run_settings(env)
    assert result.returncode != 0
    assert error in result.stderr
