"""Development (README's first command): SQLite in var/, demo data, e-mail on the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = True
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The demo clinic lives in a real zone with daylight-saving time.
TIME_ZONE = env("CLINIC_TIME_ZONE", default="Europe/London")
CLINIC_SERVE_MEDIA = True
# Staff two-step sign-in starts off here (sample users sign in with a password only); the
# clinic policies turn it on. Production starts with it on for doctors and administrators.
CLINIC_STAFF_MFA_DEFAULT = False
# One runserver process: its own memory is the shared cache django-ratelimit asks for.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Shorter password hashing keeps the demo snappy; production keeps Django's default (PBKDF2).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Static files straight from the app and static/ folders (no collectstatic needed here).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
