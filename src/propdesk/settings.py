"""Django settings. Everything a firm sets comes from the environment (see README)."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from propdesk.core import error_reports, logs
from propdesk.ops.config import ops_settings

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
# Earlier secret keys, still accepted for sessions and signatures while they run out (rotation).
SECRET_KEY_FALLBACKS = [
    k.strip() for k in os.environ.get("PROPDESK_SECRET_KEY_FALLBACKS", "").split(",") if k.strip()
]


def _vault_keys() -> list[str]:
    """The vault's Fernet keys, newest first (docs/keys.md). From PROPDESK_VAULT_KEYS; an
    install that sets its secret key in the environment but no vault keys keeps sealing under
    a key derived from the secret key, as before (`check --deploy` says to set them: a key file
    under var/ would differ between hosts); a local install keeps generated keys in var/."""
    if keys := os.environ.get("PROPDESK_VAULT_KEYS"):
        found = [k.strip() for k in keys.split(",") if k.strip()]
    elif (VAR_DIR / "vault_keys").exists():
        found = _local_vault_keys()  # keys generated here once: what they sealed stays readable
    elif os.environ.get("PROPDESK_SECRET_KEY"):
        return []
    else:
        found = _local_vault_keys()
    from cryptography.fernet import Fernet

    for number, key in enumerate(found, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"Vault key {number} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "see docs/keys.md."
            ) from None
    return found


def _local_vault_keys() -> list[str]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "vault_keys"
    if not path.exists():
        from cryptography.fernet import Fernet

        # Written aside (readable by its owner only) and linked into place: processes starting
        # together agree on one key.
        spare = VAR_DIR / f".vault_keys.{os.getpid()}"
        descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(Fernet.generate_key().decode() + "\n")
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


VAULT_KEYS = _vault_keys()
DEBUG = _env_bool("PROPDESK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PROPDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "propdesk.core",
    "propdesk.jobs",
    "propdesk.accounts",
    "propdesk.approvals",
    "propdesk.notifications",
    "propdesk.onboarding",
    "propdesk.wallet",
    "propdesk.platforms",
    "propdesk.platforms.sandbox",
    "propdesk.challenges",
    "propdesk.reports",
]

MIDDLEWARE = [
    "propdesk.core.request_ids.RequestIdMiddleware",  # first: every line has its request id
    "propdesk.ops.middleware.ServiceMiddleware",  # /healthz, /readyz, /metrics; times the rest
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "propdesk.core.security.SecurityHeadersMiddleware",  # below WhiteNoise: not static files
    "propdesk.core.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "propdesk.core.request_ids.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The client's language, or the chooser's: first, so that even a refusal (suspended, not
    # verified) is written in it.
    "propdesk.accounts.middleware.LanguageMiddleware",
    "propdesk.accounts.middleware.ActiveAccountMiddleware",
    "propdesk.accounts.middleware.TwoFactorMiddleware",
    "propdesk.accounts.middleware.ClientTimeZoneMiddleware",
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

# Login throttling (accounts/throttle.py): failed logins in a sliding window, counted per
# account and address, per address, and per account from anywhere; past a limit each attempt
# waits a back-off that doubles with every further failure. Known devices (a signed cookie set
# at a successful login) are held only to their own failures.
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("PROPDESK_LOGIN_THROTTLE_WINDOW", 900))
LOGIN_THROTTLE_MAX_FAILURES = int(os.environ.get("PROPDESK_LOGIN_MAX_FAILURES", 5))
LOGIN_THROTTLE_MAX_FAILURES_PER_IP = int(os.environ.get("PROPDESK_LOGIN_MAX_FAILURES_IP", 30))
LOGIN_THROTTLE_MAX_FAILURES_PER_ACCOUNT = int(
    os.environ.get("PROPDESK_LOGIN_MAX_FAILURES_EMAIL", 20)
)
LOGIN_THROTTLE_BACKOFF_SECONDS = int(os.environ.get("PROPDESK_LOGIN_BACKOFF", 1))
LOGIN_THROTTLE_PRUNE_SECONDS = 60  # prune old failures at most this often per process
LOGIN_DEVICE_DAYS = int(os.environ.get("PROPDESK_LOGIN_DEVICE_DAYS", 180))

# Behind a reverse proxy every request comes from the proxy's address; name the header in
# which the proxy passes the client's own (e.g. X-Real-IP) so that throttling sees people.
CLIENT_IP_HEADER = os.environ.get("PROPDESK_CLIENT_IP_HEADER", "").strip()
# Two-factor login (TOTP, django-otp). After a wrong code the next try waits 1 s, 2 s, 4 s, ...
# (django-otp's throttle), never longer than TWO_FACTOR_MAX_WAIT; a right code clears it.
TWO_FACTOR_MAX_WAIT_SECONDS = int(os.environ.get("PROPDESK_TWO_FACTOR_MAX_WAIT", 900))
# How long the code step of a login waits after the right password, and an enrolment its code.
TWO_FACTOR_LOGIN_SECONDS = 300
TWO_FACTOR_ENROLMENT_SECONDS = 900
API_TOKEN_DAYS = int(os.environ.get("PROPDESK_API_TOKEN_DAYS", 30))
TRADING_TOKEN_DAYS = int(os.environ.get("PROPDESK_TRADING_TOKEN_DAYS", 7))
MAX_PENDING_DEPOSITS = int(os.environ.get("PROPDESK_MAX_PENDING_DEPOSITS", 3))
MAX_PENDING_WITHDRAWALS = int(os.environ.get("PROPDESK_MAX_PENDING_WITHDRAWALS", 3))
# Online payments (card deposits, direct challenge purchases) a client may have open at once,
# each kind; an unpaid checkout lapses (cancelled, cannot be paid) after CHECKOUT_EXPIRY_HOURS.
MAX_AWAITING_PAYMENT = int(os.environ.get("PROPDESK_MAX_AWAITING_PAYMENT", 3))
CHECKOUT_EXPIRY_HOURS = float(os.environ.get("PROPDESK_CHECKOUT_EXPIRY_HOURS", 24))
# Live API tokens a user may hold; a new one beyond that retires the oldest.
API_TOKENS_PER_USER = int(os.environ.get("PROPDESK_API_TOKENS_PER_USER", 20))
REGISTRATIONS_PER_IP_PER_HOUR = int(os.environ.get("PROPDESK_REGISTRATIONS_PER_IP_HOUR", 20))
# Account recovery (accounts/recovery.py, docs/authentication-recovery.md). A password-reset link
# works once and for PASSWORD_RESET_TIMEOUT seconds; a verification link for
# EMAIL_VERIFICATION_DAYS. Reset and verification emails asked for are limited per email and
# per address in the login throttle's window (counted apart from failed logins).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PROPDESK_PASSWORD_RESET_SECONDS", 3600))
EMAIL_VERIFICATION_DAYS = int(os.environ.get("PROPDESK_EMAIL_VERIFICATION_DAYS", 7))
# A client whose email is not verified cannot log in (portal or API token) while this is on.
PROPDESK_REQUIRE_EMAIL_VERIFICATION = _env_bool("PROPDESK_REQUIRE_EMAIL_VERIFICATION", False)
RECOVERY_MAX_PER_EMAIL = int(os.environ.get("PROPDESK_RECOVERY_MAX_PER_EMAIL", 3))
RECOVERY_MAX_PER_IP = int(os.environ.get("PROPDESK_RECOVERY_MAX_PER_IP", 20))

# --- Deployment: HTTPS, the reverse proxy, HSTS, cookies (docs/deployment.md) ----------------
# Nothing here changes the demo on http://127.0.0.1:8000. Behind HTTPS, PROPDESK_HTTPS=1 turns the
# safe settings on together; each has its own variable too. `propdesk manage check --deploy` is
# clean with PROPDESK_HTTPS=1, a long PROPDESK_SECRET_KEY and PROPDESK_ALLOWED_HOSTS.


def _env_flag(name: str, default: bool) -> bool:
    """A yes/no variable; a value that is neither stops the start instead of meaning "no"."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (got {value!r}).")


def _env_seconds(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds (got {value!r}).")
    return int(value)


def _proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` (meaning the value `https`) or `Header=value`, as Django wants it."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _, wanted = value.partition("=")
    header, wanted = header.strip(), (wanted.strip() if "=" in value else "https")
    if not re.fullmatch(r"[A-Za-z0-9-]+", header) or not re.fullmatch(r"[!-~]+", wanted):
        raise ImproperlyConfigured(
            f"{name} must be a header name such as X-Forwarded-Proto, or Header=value "
            f"(got {value!r})."
        )
    return "HTTP_" + header.upper().replace("-", "_"), wanted


HTTPS = _env_flag("PROPDESK_HTTPS", False)
SESSION_COOKIE_SECURE = _env_flag("PROPDESK_SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _env_flag("PROPDESK_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = _env_seconds("PROPDESK_HSTS_SECONDS", 365 * 24 * 60 * 60 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("PROPDESK_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_flag("PROPDESK_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is the decision of whoever owns the registered domain: once the domain is on
    # the browsers' list, it and every subdomain are HTTPS-only for months. An install can't
    # decide that for the firm, so check --deploy does not ask for it (security.W021);
    # PROPDESK_HSTS_PRELOAD=1 adds the directive when the firm does.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
# Only when the proxy sets this header itself on every request (and drops a client's own):
# then Django knows a request came over HTTPS (cookies, redirect, HSTS, CSRF's origin check).
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header("PROPDESK_PROXY_SSL_HEADER")
# Origins allowed to post forms besides the site's own, e.g. https://crm.firm.example when the
# proxy changes the Host header; each with its scheme.
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PROPDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12  # a working day: a login ends 12 hours after it began
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The Content-Security-Policy, Permissions-Policy and no-store caching: propdesk.core.security.
# --- end of deployment settings ------------------------------------------------------------------

LANGUAGE_CODE = "en"
# The languages a client may choose (portal, emails). Each has a complete catalogue in
# src/propdesk/locale/<code>/LC_MESSAGES/django.po (docs/languages.md).
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Numbers as each language writes them where the firm differs from Django (core/formats).
FORMAT_MODULE_PATH = ["propdesk.core.formats"]
TIME_ZONE = os.environ.get("PROPDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Identity documents live here: outside every served path, handed out only by a view that
# checks who is asking.
PRIVATE_ROOT = Path(os.environ.get("PROPDESK_PRIVATE_DIR", VAR_DIR / "private")).resolve()
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
KYC_MAX_DOCUMENT_BYTES = UPLOAD_MAX_BYTES
# Each uploaded document is parsed in a child process held to this much memory (beyond what
# it starts with) and CPU time: a hostile file is refused, it cannot stall or swell a worker.
KYC_DOCUMENT_CHECK_MEMORY_MB = int(os.environ.get("PROPDESK_KYC_CHECK_MEMORY_MB", 512))
KYC_DOCUMENT_CHECK_CPU_SECONDS = int(os.environ.get("PROPDESK_KYC_CHECK_CPU_SECONDS", 10))
FILE_UPLOAD_HANDLERS = [
    "propdesk.core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# Collected static files: by `propdesk serve` at each start into var/, or beforehand into
# PROPDESK_STATIC_DIR (the container image's, collected when it is built) and used as they are.
STATIC_COLLECTED_BEFOREHAND = bool(os.environ.get("PROPDESK_STATIC_DIR"))
STATIC_ROOT = Path(os.environ.get("PROPDESK_STATIC_DIR") or VAR_DIR / "static").resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
FILE_SYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"


def kyc_storage_setting(environ: Mapping[str, str], private_root: Path) -> dict[str, Any]:
    """Where identity documents are kept: `PROPDESK_KYC_STORAGE_BACKEND` (a Django storage
    class; by default the private folder) with `PROPDESK_KYC_STORAGE_OPTIONS` (a JSON object)
    as its options, e.g. django-storages' `storages.backends.s3.S3Storage` and a bucket."""
    backend = environ.get("PROPDESK_KYC_STORAGE_BACKEND", "").strip() or FILE_SYSTEM_STORAGE
    raw = environ.get("PROPDESK_KYC_STORAGE_OPTIONS", "").strip() or "{}"
    try:
        options = json.loads(raw)
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise ImproperlyConfigured("PROPDESK_KYC_STORAGE_OPTIONS must be a JSON object.")
    if backend == FILE_SYSTEM_STORAGE:
        # Owner-only files and folders, whatever the process's umask.
        options = {
            "location": str(private_root / "kyc"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
            **options,
        }
        location = Path(options["location"]).resolve()
        if location.is_relative_to(STATIC_ROOT.resolve()):
            raise ImproperlyConfigured(
                f"KYC documents may not be kept in {location}: it is served as static files."
            )
    return {"BACKEND": backend, "OPTIONS": options}


STORAGES = {
    "default": {"BACKEND": FILE_SYSTEM_STORAGE},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Identity documents, used through `storages["kyc_documents"]` only (never by URL).
    "kyc_documents": kyc_storage_setting(os.environ, PRIVATE_ROOT),
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
# Without a timeout a mail server that stops answering holds a job worker for ever.
EMAIL_TIMEOUT = int(os.environ.get("PROPDESK_EMAIL_TIMEOUT", 30))
DEFAULT_FROM_EMAIL = os.environ.get("PROPDESK_FROM_EMAIL", "propdesk <no-reply@localhost>")
PROPDESK_FIRM_NAME = os.environ.get("PROPDESK_FIRM_NAME", "propdesk demo firm")
OTP_TOTP_ISSUER = PROPDESK_FIRM_NAME  # what authenticator apps show beside the code
PROPDESK_SITE_URL = os.environ.get("PROPDESK_SITE_URL", "http://127.0.0.1:8000")
# Certificates' PDFs are set in the core Helvetica (Latin-1: other scripts are written as near
# as it comes) unless TrueType font files are named here, separated by ":" (the first for the
# text, the others for the characters it lacks): see docs/certificates.md.
PROPDESK_CERTIFICATE_FONTS = [
    path.strip()
    for path in os.environ.get("PROPDESK_CERTIFICATE_FONTS", "").split(os.pathsep)
    if path.strip()
]

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# Background jobs (docs/background-jobs.md): a job RUNNING under a worker not seen for the
# lease is put back; a failure is retried after 30 s, 60 s, 120 s... (at most the cap, with
# jitter) until its last attempt, then waits for staff in Settings > Background jobs.
JOBS_LEASE_SECONDS = int(os.environ.get("PROPDESK_JOB_LEASE_SECONDS", 300))
JOBS_MAX_ATTEMPTS = int(os.environ.get("PROPDESK_JOB_MAX_ATTEMPTS", 8))
JOBS_RETRY_SECONDS = int(os.environ.get("PROPDESK_JOB_RETRY_SECONDS", 30))
JOBS_RETRY_MAX_SECONDS = int(os.environ.get("PROPDESK_JOB_RETRY_MAX_SECONDS", 3600))
JOBS_KEEP_DAYS = int(os.environ.get("PROPDESK_JOB_KEEP_DAYS", 14))
# Outbound webhooks (docs/webhooks.md): a delivery's attempts, the first wait (doubling up to the
# longest), and how long an endpoint has to answer.
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("PROPDESK_WEBHOOK_MAX_ATTEMPTS", 24))
WEBHOOK_RETRY_SECONDS = int(os.environ.get("PROPDESK_WEBHOOK_RETRY_SECONDS", 5))
WEBHOOK_RETRY_MAX_SECONDS = int(os.environ.get("PROPDESK_WEBHOOK_RETRY_MAX_SECONDS", 7200))
WEBHOOK_TIMEOUT_SECONDS = int(os.environ.get("PROPDESK_WEBHOOK_TIMEOUT_SECONDS", 10))
# Webhooks are never sent to link-local addresses (169.254.0.0/16, fe80::/10: the clouds'
# instance metadata and its credentials) unless this is set to 1.
WEBHOOK_ALLOW_LINK_LOCAL = os.environ.get("PROPDESK_WEBHOOK_ALLOW_LINK_LOCAL", "") == "1"
# The platform outbox (platforms/outbox.py): a runner holds a command it took for this long; a
# runner killed mid-call loses it after, and the next one repeats the call under the same key.
# Longer than any platform call may take.
PLATFORM_COMMAND_LEASE = _env_seconds("PROPDESK_PLATFORM_COMMAND_LEASE", 60)
# The monitor (docs/monitor.md) checkpoints a busy feed's stages this often: each running stage
# that changed is written once a checkpoint. A firm with very many accounts writes less often
# (a restart then reads more events again: never any twice).
MONITOR_CHECKPOINT_SECONDS = _env_seconds("PROPDESK_MONITOR_CHECKPOINT_SECONDS", 1) or 1
# /readyz's thresholds and what it requires, /metrics' token (docs/observability.md).
OPS = ops_settings(os.environ, job_lease_seconds=JOBS_LEASE_SECONDS)

# The account-event log (docs/event-log.md): "database" (the default: the platforms app's table)
# or a NATS JetStream server, `nats://host:port`, whose stream EVENT_STREAM keeps the events in
# EVENT_PARTITIONS partitions of the accounts for EVENT_RETENTION_DAYS days (then JetStream drops
# them: a reader further behind than that has lost events). Changing the partitions moves
# accounts between partitions: only with the stream emptied and the monitor's checkpoints reset.


def event_log_setting(environ: Mapping[str, str]) -> dict[str, Any]:
    """The event log's settings from the environment, checked: a value that means nothing
    stops the start with what was expected."""
    log = environ.get("PROPDESK_EVENT_LOG", "").strip() or "database"
    if log != "database":
        found = re.fullmatch(
            r"nats://(?:[^@/\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})", log
        )
        if found is None or not 0 < int(found.group(1)) < 65536:
            raise ImproperlyConfigured(
                'PROPDESK_EVENT_LOG must be "database" or a NATS server\'s URL, '
                f"nats://host:port (got {log!r})."
            )
    partitions = environ.get("PROPDESK_EVENT_PARTITIONS", "").strip() or "8"
    if not (partitions.isascii() and partitions.isdigit()) or not 1 <= int(partitions) <= 1024:
        raise ImproperlyConfigured(
            f"PROPDESK_EVENT_PARTITIONS must be a whole number from 1 to 1024 (got {partitions!r})."
        )
    stream = environ.get("PROPDESK_EVENT_STREAM", "").strip() or "PROPDESK_EVENTS"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", stream):
        raise ImproperlyConfigured(
            "PROPDESK_EVENT_STREAM must be 1 to 64 letters, digits, _ or - "
            f"(a JetStream stream's name; got {stream!r})."
        )
    days = environ.get("PROPDESK_EVENT_RETENTION_DAYS", "").strip() or "7"
    if not (days.isascii() and days.isdigit()) or not 1 <= int(days) <= 3650:
        raise ImproperlyConfigured(
            f"PROPDESK_EVENT_RETENTION_DAYS must be a whole number of days from 1 to 3650 "
            f"(got {days!r})."
        )
    return {
        "EVENT_LOG": log,
        "EVENT_PARTITIONS": int(partitions),
        "EVENT_STREAM": stream,
        "EVENT_RETENTION_DAYS": int(days),
    }


_event_log = event_log_setting(os.environ)
EVENT_LOG: str = _event_log["EVENT_LOG"]
EVENT_PARTITIONS: int = _event_log["EVENT_PARTITIONS"]
EVENT_STREAM: str = _event_log["EVENT_STREAM"]
EVENT_RETENTION_DAYS: int = _event_log["EVENT_RETENTION_DAYS"]

# Logs (docs/logging.md): PROPDESK_LOG_FORMAT, PROPDESK_LOG_LEVEL; Sentry when PROPDESK_SENTRY_DSN.
LOGGING = logs.logging_setting(os.environ)
SENTRY = error_reports.start(os.environ)
