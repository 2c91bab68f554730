"""Settings shared by every environment.

Everything that differs between machines comes from the environment (see README, "Configuration").
`dev`, `test` and `production` only change what they must.
"""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env file is optional; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ---------------------------------------------------------------------------

INSTALLED_APPS = [
    # Ours, lowest layer first (accounts, doctors, booking, records, dashboard); home on top.
    "clinic_site",
    "clinic_site.accounts",
    "doctors",
    "booking",
    "records",
    "dashboard",
    "home",
    # Wagtail
    "wagtail.contrib.settings",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "clinic_site.accounts.apps.ClinicWagtailUsersConfig",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "wagtail_modeladmin",
    "modelcluster",
    "taggit",
    # Libraries
    "django_filters",
    "django_tables2",
    "django_countries",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_ratelimit",
    "pgtrigger",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Django
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session middleware, saving an unchanged session at most once a minute.
    "clinic_site.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session signed in with a password only, where a second step is needed, reaches
    # nothing but the second-step pages (clinic_site.accounts.mfa).
    "clinic_site.accounts.mfa.MFAMiddleware",
    # Who and from where, for the activity log (clinic_site/activity.py).
    "clinic_site.middleware.ActivityContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A signed-in patient opening /admin/ goes to their portal (not Wagtail's sign-in loop).
    "clinic_site.middleware.StaffAreaMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clinic_site.middleware.ClinicCSPMiddleware",
    "clinic_site.middleware.PrivateResponseMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "clinic_site.audit.AuditLogErrorMiddleware",  # the append-only audit logs: 409, not 500
    # django-axes must come last: it turns a flagged lockout into the 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic_site.urls"
WSGI_APPLICATION = "clinic_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "clinic_site.context_processors.clinic",
            ],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.DjangoTemplates"

# --- Database -------------------------------------------------------------------------------
# Embedded default: SQLite in var/. PostgreSQL (the production database) via DATABASE_URL.

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Writers take the lock when the transaction starts, not half-way through it,
            # so two bookings cannot both read "free" and then fail to upgrade their lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, authentication and sessions -----------------------------------------------------
# Two-step sign-in (clinic_site/accounts/mfa.py): authenticator apps (TOTP), passkeys
# (WebAuthn) and single-use recovery codes. Passkeys are bound to the site's host name
# (CLINIC_WEBAUTHN_RP_ID, by default the host of WAGTAILADMIN_BASE_URL).
OTP_TOTP_ISSUER = env("CLINIC_MFA_ISSUER", default="Clinic Portal")
CLINIC_WEBAUTHN_RP_ID = env("CLINIC_WEBAUTHN_RP_ID", default="")
CLINIC_RECOVERY_CODES = 10

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out credentials before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "clinic_site.accounts.backends.EmailOrNationalIdBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:after_login"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name", "phone")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Idle timeout: the session lives SESSION_COOKIE_AGE seconds after the last request, refreshed
# by a request at most every CLINIC_SESSION_REFRESH_SECONDS (clinic_site.middleware
# .IdleSessionMiddleware): an unchanged session is not written back on every page.
SESSION_COOKIE_AGE = env.int("CLINIC_SESSION_IDLE_MINUTES", default=30) * 60
CLINIC_SESSION_REFRESH_SECONDS = 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Brute-force protection (django-axes): 5 failures for one e-mail from one address lock that
# pair out for 15 minutes. Locking by the pair keeps one attacker from locking a patient out.
AXES_FAILURE_LIMIT = env.int("CLINIC_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CLINIC_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# ... and CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT failures from one address for any identifiers lock
# that address out for the same cool-off (clinic_site.accounts.backends.ClinicAxesHandler).
CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_HANDLER = "clinic_site.accounts.backends.ClinicAxesHandler"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_USERNAME_CALLABLE = "clinic_site.accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "clinic_site.accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "code"]

# Prices are shown with this symbol (the clinic works in one currency).
CLINIC_CURRENCY_SYMBOL = env("CLINIC_CURRENCY_SYMBOL", default="£")

# Video visits: each gets a unique room under this address (any service that makes rooms on demand).
CLINIC_MEETING_BASE_URL = env("CLINIC_MEETING_BASE_URL", default="https://meet.jit.si/")

# E-mail verification codes.
CLINIC_VERIFICATION_CODE_TTL = timedelta(minutes=15)
CLINIC_VERIFICATION_MAX_ATTEMPTS = 5
CLINIC_VERIFICATION_RESEND_INTERVAL = timedelta(seconds=60)
# A code allows CLINIC_VERIFICATION_MAX_ATTEMPTS tries, and one account at most this many wrong
# codes in 24 hours (however many new codes are asked for); no new codes are sent past it.
CLINIC_VERIFICATION_MAX_ATTEMPTS_PER_DAY = env.int("CLINIC_VERIFICATION_TRIES_PER_DAY", default=15)
# Web forms (clinic_site.accounts.limits): accounts opened and password resets asked for per
# address, and reset e-mails per account.
CLINIC_FORM_RATES = {
    "register": env("CLINIC_RATE_REGISTER", default="10/hour"),
    "password_reset": env("CLINIC_RATE_PASSWORD_RESET", default="10/hour"),
}
CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR = env.int("CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR", default=3)

# --- Internationalisation and time ----------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("CLINIC_TIME_ZONE", default="UTC")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - configuration error
    raise ImproperlyConfigured(f"CLINIC_TIME_ZONE={TIME_ZONE!r} is not a known time zone") from exc
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve MEDIA_ROOT from Django itself (development, tests, a single-box demo). Production puts
# media behind the web server instead; see docs/deployment.md.
CLINIC_SERVE_MEDIA = env.bool("CLINIC_SERVE_MEDIA", default=False)

FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- E-mail ---------------------------------------------------------------------------------

if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Clinic Portal <no-reply@clinic.test>")
# A silent mail server may hold a worker this long at most; a failed e-mail is tried this many
# times in all (1, 4, 16, 64 minutes apart with the database task backend; clinic_site.mail).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
CLINIC_EMAIL_ATTEMPTS = env.int("CLINIC_EMAIL_ATTEMPTS", default=5)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Text messages (clinic_site/sms.py): a dotted path to a BaseSMSBackend subclass. The default
# only logs each message; point it at a provider's backend to really send them.
CLINIC_SMS_BACKEND = env("CLINIC_SMS_BACKEND", default="clinic_site.sms.LoggingSMSBackend")

# --- Background work ------------------------------------------------------------------------
# Immediate in development and tests (enqueued on commit, so it runs after the transaction);
# production uses django-tasks-db's DatabaseBackend with `manage.py db_worker`.

TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# --- Caches ---------------------------------------------------------------------------------

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Security headers -------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS is only sent over HTTPS; production additionally redirects HTTP to HTTPS.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Wagtail's admin sets inline style attributes; our own pages use none.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
CLINIC_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"

# --- Wagtail --------------------------------------------------------------------------------

# The name the staff dashboard and its e-mails carry (the public site uses ClinicDetails).
WAGTAIL_SITE_NAME = env("CLINIC_NAME", default="Clinic Portal")
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILIMAGES_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif"]
WAGTAILUSERS_PASSWORD_REQUIRED = True
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No third-party requests from the admin: avatars are initials, not Gravatar images.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Time zones staff may pick in their account settings: the IANA names browsers know (the system
# database also lists aliases such as "localtime" that browsers reject).
WAGTAIL_USER_TIME_ZONES = sorted(
    zone
    for zone in available_timezones()
    if "/" in zone and not zone.startswith(("posix/", "right/"))
) + ["UTC"]
WAGTAIL_ALLOW_UNICODE_SLUGS = False

# --- REST API -------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes "not signed in" a 401, as the contract says.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic_site.accounts.api.authentication.ClinicJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "clinic_site.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "clinic_site.openapi.ClinicAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON in (api-v1.md): a form or multipart body is 415, JSON nested too deep is 400.
    "DEFAULT_PARSER_CLASSES": ["clinic_site.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "clinic_site.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("CLINIC_THROTTLE_AUTH", default="20/minute"),
        "register": env("CLINIC_THROTTLE_REGISTER", default="10/hour"),
        "writes": env("CLINIC_THROTTLE_WRITES", default="120/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "clinic_site.accounts.api.serializers.TokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "clinic_site.accounts.api.serializers.TokenRefreshSerializer",
    # A password change (or reset) ends every token issued before it.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic Portal API",
    "DESCRIPTION": "REST API v1 of Clinic Portal. Contract: spec/api-v1.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["clinic_site.api.schema_v1_endpoints_only"],
}

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # One line per task or page revision is noise at INFO; failures still show.
        "django_tasks": {"level": "WARNING"},
        "wagtail": {"level": "WARNING"},
        # WeasyPrint narrates every step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.security.DisallowedHost": {"level": "ERROR"},
    },
}

# One sign-in page (ours, protected by django-axes) for the portal and the staff dashboard.
WAGTAILADMIN_LOGIN_URL = "/accounts/login/"
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
CSRF_FAILURE_VIEW = "clinic_site.views.csrf_failure"
