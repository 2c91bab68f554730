"""Development (README's first command): SQLite in var/, demo data, e-mail on the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = True
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The demo clinic lives in a real zone with daylight-saving time.
TIME_ZONE = env("CLINIC_TIME_ZONE", default="Europe/London")
CLINIC_SERVE_MEDIA = True
# Shorter password hashing keeps the demo snappy; production keeps Django's default (PBKDF2).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Static files straight from the app and static/ folders (no collectstatic needed here).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
