"""Production settings refuse to start without a strong secret key, and pass `check --deploy`.

Each case starts a fresh Python process with DJANGO_SETTINGS_MODULE=clinic_site.settings.production
(settings are read once per process). DATABASE_URL is removed so the process uses SQLite.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

SETUP = "import django; django.setup()"
TIMEOUT = 180


# --- helpers --------------------------------------------------------------------------------------


def production_env(secret_key: str | None, allowed_hosts: str | None = "example.org") -> dict:
    env = dict(os.environ)
    # A production process starts from a clean slate: no test database, no secrets, and not the
    # async-safety switch that the browser tests set for themselves.
    for name in (
        "DATABASE_URL",
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "CLINIC_REQUIRE_FULL_SUITE",
    ):
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings.production"
    if allowed_hosts is not None:
        env["DJANGO_ALLOWED_HOSTS"] = allowed_hosts
    if secret_key is not None:
        env["DJANGO_SECRET_KEY"] = secret_key
    return env


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def strong_key() -> str:
    return secrets.token_urlsafe(64)


# --- the secret key -------------------------------------------------------------------------------


def test_no_env_file_could_supply_a_secret_key():
    """The "missing key" cases below would prove nothing if a local .env file set one."""
    env_file = settings.BASE_DIR / ".env"
    if env_file.is_file():
        assert "DJANGO_SECRET_KEY" not in env_file.read_text()


def test_production_refuses_to_start_without_a_secret_key():
    result = run(["-c", SETUP], production_env(secret_key=None))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_refuses_an_empty_secret_key():
    result = run(["-c", SETUP], production_env(secret_key=""))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "weak_key",
    [
        "short-key",
        "s3cr3t-" * 6,  # 42 characters: still too short
        "a" * 64,  # long, but one repeated character
        "django-insecure-" + secrets.token_urlsafe(48),  # Django's startproject placeholder
    ],
    ids=["short", "just-under-50", "low-variety", "django-insecure-prefix"],
)
def test_production_refuses_a_weak_secret_key(weak_key):
    result = run(["-c", SETUP], production_env(secret_key=weak_key))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_starts_with_a_strong_secret_key():
    result = run(["-c", SETUP], production_env(secret_key=strong_key()))

    assert result.returncode == 0, result.stderr
    assert "ImproperlyConfigured" not in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run(["-c", SETUP], production_env(secret_key=strong_key(), allowed_hosts=None))

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


# --- what production turns on ---------------------------------------------------------------------


def test_production_security_settings():
    probe = SETUP + (
        "; from django.conf import settings as s; import json; print(json.dumps({"
        "'DEBUG': s.DEBUG, 'ALLOWED_HOSTS': s.ALLOWED_HOSTS,"
        "'SECURE_SSL_REDIRECT': s.SECURE_SSL_REDIRECT,"
        "'SESSION_COOKIE_SECURE': s.SESSION_COOKIE_SECURE,"
        "'CSRF_COOKIE_SECURE': s.CSRF_COOKIE_SECURE,"
        "'SESSION_COOKIE_HTTPONLY': s.SESSION_COOKIE_HTTPONLY,"
        "'SECURE_HSTS_SECONDS': s.SECURE_HSTS_SECONDS,"
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS': s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        "'SESSION_COOKIE_AGE': s.SESSION_COOKIE_AGE,"
        "'SESSION_REFRESH_SECONDS': s.CLINIC_SESSION_REFRESH_SECONDS,"
        "'IDLE_SESSIONS': 'clinic_site.middleware.IdleSessionMiddleware' in s.MIDDLEWARE,"
        "'AXES_FAILURE_LIMIT': s.AXES_FAILURE_LIMIT,"
        "'AXES_COOLOFF_SECONDS': s.AXES_COOLOFF_TIME.total_seconds(),"
        "'PASSWORD_HASHER': s.PASSWORD_HASHERS[0] if hasattr(s, 'PASSWORD_HASHERS') else None,"
        "'ENGINE': s.DATABASES['default']['ENGINE'],"
        "}))"
    )
    result = run(["-c", probe], production_env(secret_key=strong_key()))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["example.org"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_AGE"] == 30 * 60
    assert values["SESSION_REFRESH_SECONDS"] == 60
    assert values["IDLE_SESSIONS"] is True
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert values["AXES_COOLOFF_SECONDS"] == 15 * 60
    assert "MD5" not in values["PASSWORD_HASHER"]
    assert values["ENGINE"] == "django.db.backends.sqlite3"


# --- Django's deployment checklist ----------------------------------------------------------------


def test_check_deploy_passes_with_no_warnings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(secret_key=strong_key()),
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "ERRORS" not in output
    assert "System check identified no issues" in output


# --- Counters shared by every worker, bounded waits -----------------------------------------------


def _probe(expression: str, env: dict) -> object:
    result = run(
        [
            "-c",
            f"{SETUP}; from django.conf import settings as s; import json; "
            f"print(json.dumps({expression}))",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_counts_throttles_in_a_cache_every_worker_shares():
    env = production_env(secret_key=strong_key())
    env.pop("CACHE_URL", None)
    cache = _probe("s.CACHES['default']", env)
    assert cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache["LOCATION"] == "clinic_cache"

    env["CACHE_URL"] = "redis://127.0.0.1:6379/3"
    cache = _probe("s.CACHES['default']", env)
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_a_per_process_cache_is_refused_in_production():
    env = production_env(secret_key=strong_key())
    env["CACHE_URL"] = "locmemcache://"
    result = run(["manage.py", "check", "--deploy"], env)
    assert result.returncode != 0
    assert "django_ratelimit.E003" in result.stdout + result.stderr


def test_production_waits_a_bounded_time_for_the_mail_server():
    env = production_env(secret_key=strong_key())
    assert _probe("[s.EMAIL_BACKEND, s.EMAIL_TIMEOUT, s.CLINIC_EMAIL_ATTEMPTS]", env) == [
        "django.core.mail.backends.smtp.EmailBackend",
        10,
        5,
    ]
