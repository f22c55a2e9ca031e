"""Django settings. Everything a firm sets comes from the environment (see README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("PROPDESK_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The key comes from the environment; a local install keeps a generated one under var/."""
    if key := os.environ.get("PROPDESK_SECRET_KEY"):
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("PROPDESK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PROPDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PROPDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "django_countries",
    "ninja",  # serves the API docs page from its own static files, not a CDN
    "propdesk.core",
    "propdesk.accounts",
    "propdesk.approvals",
    "propdesk.notifications",
    "propdesk.onboarding",
    "propdesk.wallet",
    "propdesk.platforms",
    "propdesk.platforms.sandbox",
    "propdesk.challenges",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "propdesk.core.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "propdesk.accounts.middleware.ActiveAccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "propdesk.core.web.DomainErrorMiddleware",
]

ROOT_URLCONF = "propdesk.urls"
WSGI_APPLICATION = "propdesk.wsgi.application"

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
                "propdesk.core.context_processors.navigation",
            ],
        },
    }
]


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "propdesk.sqlite3")}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN, so two writers queue up instead of failing to upgrade a read lock.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A covering index's extra columns (INCLUDE) serve PostgreSQL; SQLite keeps the index without
# them, which is all a demo needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["propdesk.accounts.backends.EmailBackend"]
LOGIN_URL = "/login/"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "propdesk.accounts.passwords.MaximumLengthValidator"},
]

# Login throttling: failures counted per email and per client address over a sliding window.
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("PROPDESK_LOGIN_THROTTLE_WINDOW", 900))
LOGIN_THROTTLE_MAX_FAILURES_PER_EMAIL = int(os.environ.get("PROPDESK_LOGIN_MAX_FAILURES", 5))
LOGIN_THROTTLE_MAX_FAILURES_PER_IP = int(os.environ.get("PROPDESK_LOGIN_MAX_FAILURES_IP", 30))

# Behind a reverse proxy every request comes from the proxy's address; name the header in
# which the proxy passes the client's own (e.g. X-Real-IP) so that throttling sees people.
CLIENT_IP_HEADER = os.environ.get("PROPDESK_CLIENT_IP_HEADER", "").strip()
API_TOKEN_DAYS = int(os.environ.get("PROPDESK_API_TOKEN_DAYS", 30))
MAX_PENDING_DEPOSITS = int(os.environ.get("PROPDESK_MAX_PENDING_DEPOSITS", 3))
REGISTRATIONS_PER_IP_PER_HOUR = int(os.environ.get("PROPDESK_REGISTRATIONS_PER_IP_HOUR", 20))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = _env_bool("PROPDESK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("PROPDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Identity documents live here: outside every served path, handed out only by a view that
# checks who is asking.
PRIVATE_ROOT = Path(os.environ.get("PROPDESK_PRIVATE_DIR", VAR_DIR / "private")).resolve()
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
KYC_MAX_DOCUMENT_BYTES = UPLOAD_MAX_BYTES
FILE_UPLOAD_HANDLERS = [
    "propdesk.core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = 20
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get(
    "PROPDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("PROPDESK_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("PROPDESK_EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("PROPDESK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PROPDESK_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("PROPDESK_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("PROPDESK_FROM_EMAIL", "propdesk <no-reply@localhost>")
PROPDESK_FIRM_NAME = os.environ.get("PROPDESK_FIRM_NAME", "propdesk demo firm")
PROPDESK_SITE_URL = os.environ.get("PROPDESK_SITE_URL", "http://127.0.0.1:8000")

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PROPDESK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
