"""Production: refuses to start without a real secret key and explicit hosts.

`DJANGO_SETTINGS_MODULE=clinic_site.settings.production manage.py check --deploy` reports nothing.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters in "
        "production, e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host(s) the site is served on.")

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Counters every worker must share (API throttles, form limits): Redis with
# CACHE_URL=redis://..., else a table in the database (created by `migrate`). The database cache
# counts with a read and a write, so two workers at the same instant may both pass the last
# allowed request (django-ratelimit's E003 says so for it; accepted here — Redis counts exactly).
# A per-process cache (locmem) stays an error: each worker would count alone.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://clinic_cache")}
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]  # "not officially supported": Django's Redis
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

if not env("EMAIL_URL", default="") and not env("EMAIL_BACKEND", default=""):
    # Real mail by default in production (EMAIL_HOST/EMAIL_PORT or EMAIL_URL configure it).
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
