"""Canvass settings: everything that differs between machines comes from the environment."""

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    # Real environment variables win over the file (read_env uses setdefault).
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production refuses to start without one; "
            "set SECRET_KEY in the environment or in .env (see .env.example)."
        )
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = BASE_DIR / env.str("DATA_DIR", default="data")  # relative paths are from the repo

INSTALLED_APPS = [
    "portal.apps.CanvassAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "portal",
    "evidence",
    "registry",
    "submissions",
    "devices",
    "livefeeds",
    "transparency",
    "review",
    "notifications",
    "workbench",
    "leaflet",
]

MIDDLEWARE = [
    # The relay's auth_request on every HLS segment (/relay/auth/hls only, from nginx on this
    # host), answered before anything else runs; every other request passes straight through.
    "livefeeds.relay_hooks.RelayAuthMiddleware",
    # First: on public tip paths, the client's address and headers are gone before anything runs.
    "submissions.middleware.TipsterAnonymityMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Staff times are typed and shown in the agency's zone (portal.timefields, portal_time).
    "portal.middleware.AgencyZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.navigation",
                "evidence.context_processors.navigation",
                "registry.context_processors.navigation",
                "submissions.context_processors.navigation",
                "devices.context_processors.navigation",
                "review.context_processors.navigation",
                "transparency.context_processors.navigation",
                "workbench.context_processors.badges",
            ],
        },
    },
]

# Two database roles (portal/dbroles.py). DATABASE_URL is the role the app runs as (web,
# worker, beat, commands): it owns nothing, so it cannot disable the audit log's trigger,
# alter a table or TRUNCATE one. DATABASE_OWNER_URL is the role that owns the tables: only
# `migrate` connects as it, and grants the app role what it may do. A deployment that sets
# DATABASE_URL alone runs as one role (as before), which `check --deploy` warns about.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgis://canvass_app@127.0.0.1:5432/canvass"),
}
# Kept apart: the test run logs its own connection in as the owner (tests/conftest.py).
DATABASE_APP_ROLE = DATABASES["default"].get("USER") or ""
DATABASE_OWNER = env.db_url(
    "DATABASE_OWNER_URL",
    default=env.str("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/canvass"),
)
if DATABASES["default"]["ENGINE"] != "django.contrib.gis.db.backends.postgis":
    raise ImproperlyConfigured("DATABASE_URL must use the postgis:// scheme.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A kept connection is checked before each request reuses it: after PostgreSQL restarts, the
# first request on a stale connection gets a new one instead of a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Lets two test runs on one machine use separate test databases.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# CJIS 5.9.5 numbers, kept together so the policy reads in one place.
STAFF_IDLE_TIMEOUT_SECONDS = env.int("STAFF_IDLE_TIMEOUT_SECONDS", default=30 * 60)
LOCKOUT_FAILURE_LIMIT = env.int("LOCKOUT_FAILURE_LIMIT", default=5)
LOCKOUT_WINDOW_SECONDS = env.int("LOCKOUT_WINDOW_SECONDS", default=15 * 60)
INACTIVE_ACCOUNT_DAYS = env.int("INACTIVE_ACCOUNT_DAYS", default=90)
EMAIL_VERIFICATION_MAX_AGE_SECONDS = 3 * 24 * 3600
# Sign-up and password reset, per client and per hashed email address, in fixed windows
# (portal/ratelimit.py): the pages answer the same for known and unknown addresses, and
# these stop them being used to flood someone's inbox or to probe at speed.
ACCOUNT_RATE_WINDOW_SECONDS = env.int("ACCOUNT_RATE_WINDOW_SECONDS", default=3600)
ACCOUNT_RATE_SIGNUP_PER_CLIENT = env.int("ACCOUNT_RATE_SIGNUP_PER_CLIENT", default=20)
ACCOUNT_RATE_SIGNUP_PER_ADDRESS = env.int("ACCOUNT_RATE_SIGNUP_PER_ADDRESS", default=3)
ACCOUNT_RATE_RESET_PER_CLIENT = env.int("ACCOUNT_RATE_RESET_PER_CLIENT", default=20)
ACCOUNT_RATE_RESET_PER_ADDRESS = env.int("ACCOUNT_RATE_RESET_PER_ADDRESS", default=3)
# Prefix of those counters in Redis; tests give each test its own (as TIPS_RATE_NAMESPACE).
ACCOUNT_RATE_NAMESPACE = ""
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Canvass")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Storage: the local filesystem under DATA_DIR unless an S3 bucket is configured.
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            # Evidence is never replaced in place: a clash gets a new name instead.
            "file_overwrite": False,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("S3_SIGNED_URL_SECONDS", default=300),
            "signature_version": "s3v4",
            "addressing_style": "path",
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "objects"), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            # Hashed names need `collectstatic` first; tests and DEBUG runs go without.
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Canvass <canvass@localhost>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Maps (portal/maps.py): the basemap is the agency's own PMTiles file, served by Canvass with HTTP
# Range and drawn in the browser; `scripts/setup.sh` builds a small one of the demo town there.
# An operator may instead name raster tiles of their own server (MAP_TILE_URL, {z}/{x}/{y}),
# which then wins. Nothing is ever asked of a third party. README "Maps" says how to make a file.
MAP_PMTILES_PATH = str(
    BASE_DIR / env.str("MAP_PMTILES_PATH", default=str(DATA_DIR / "basemap.pmtiles"))
)  # relative paths are from the repo, as DATA_DIR's
MAP_PMTILES_MAX_ZOOM = env.int("MAP_PMTILES_MAX_ZOOM", default=15)  # the file's deepest tiles
MAP_MAX_ZOOM = env.int("MAP_MAX_ZOOM", default=19)
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")

# Geocoding (portal/geocoding.py): a Nominatim-compatible service; empty means "tap the map".
GEOCODER_URL = env.str("GEOCODER_URL", default="")
GEOCODER_USER_AGENT = env.str("GEOCODER_USER_AGENT", default="canvass")
GEOCODER_TIMEOUT_SECONDS = env.float("GEOCODER_TIMEOUT_SECONDS", default=3.0)

# Evidence intake: where tus uploads wait until the pipeline moves them to storage. "local": a
# directory (UPLOAD_STAGING_DIR) every web and worker process must share, for one machine. "s3":
# one multipart upload per tus upload in the S3 bucket, so web and worker nodes keep nothing.
UPLOAD_STAGING = env.str("UPLOAD_STAGING", default="local")
if UPLOAD_STAGING not in ("local", "s3"):
    raise ImproperlyConfigured("UPLOAD_STAGING must be 'local' or 's3'.")
if UPLOAD_STAGING == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("UPLOAD_STAGING=s3 stages uploads in S3_BUCKET; set S3_BUCKET.")
UPLOAD_STAGING_DIR = BASE_DIR / env.str("UPLOAD_STAGING_DIR", default=str(DATA_DIR / "staging"))
UPLOAD_EXPIRY_SECONDS = env.int("UPLOAD_EXPIRY_SECONDS", default=24 * 3600)
# Largest single file per upload flow; there is no global cap. A tip is a phone clip, a
# footage request a business's DVR export, a staff upload anything an investigator brings in,
# a body camera a whole shift. Each overrides as UPLOAD_MAX_BYTES_<FLOW> (e.g. _BODYCAM); a
# grant (and an agency's tip settings) may only lower its flow's limit.
UPLOAD_MAX_BYTES_BY_FLOW = {
    flow: env.int(f"UPLOAD_MAX_BYTES_{flow.upper()}", default=default)
    for flow, default in {
        "tip": 4 * 1024**3,
        "footage_request": 32 * 1024**3,
        "staff_upload": 64 * 1024**3,
        "bodycam": 256 * 1024**3,
        "live_clip": 4 * 1024**3,
    }.items()
}
# Media pipeline limits (untrusted input: see ../shared/standards.md on ffmpeg hardening).
MEDIA_MAX_DURATION_SECONDS = env.int("MEDIA_MAX_DURATION_SECONDS", default=6 * 3600)
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=8192 * 8192)
MEDIA_MAX_STREAMS = env.int("MEDIA_MAX_STREAMS", default=16)
MEDIA_TOOL_TIMEOUT_SECONDS = env.int("MEDIA_TOOL_TIMEOUT_SECONDS", default=3 * 3600)
MEDIA_TOOL_MEMORY_BYTES = env.int("MEDIA_TOOL_MEMORY_BYTES", default=4 * 1024**3)
# The redaction editor's "Track" runs in the web request: it stops after this long (the render
# on the media queue tracks any box left untracked, under MEDIA_TOOL_TIMEOUT_SECONDS).
REDACTION_TRACK_TIMEOUT_SECONDS = env.int("REDACTION_TRACK_TIMEOUT_SECONDS", default=120)
# Runs of the media pipeline per item (a crash, a timeout of storage, a worker killed mid-run
# each count); after the last one the item ends `failed` with the reason instead of looping.
MEDIA_MAX_ATTEMPTS = env.int("MEDIA_MAX_ATTEMPTS", default=5)
MEDIA_SCRATCH_DIR = BASE_DIR / env.str("MEDIA_SCRATCH_DIR", default=str(DATA_DIR / "scratch"))
# Clips cut from the live relay's HLS ring into evidence (livefeeds/clips.py): the longest window
# one clip may ask for. The ring itself only holds RELAY_HLS_PLAYLIST_SECONDS, and a little
# longer once a stream ends, so size both together.
LIVE_CLIP_MAX_SECONDS = env.int("LIVE_CLIP_MAX_SECONDS", default=600)
# C2PA provenance: a PEM bundle of the signers' root certificates the agency trusts. Without
# it a valid manifest still shows as valid (unaltered since signing), its signer as unchecked.
C2PA_TRUST_ANCHORS = env.str("C2PA_TRUST_ANCHORS", default="")
EVIDENCE_VERIFY_EVERY_DAYS = env.int("EVIDENCE_VERIFY_EVERY_DAYS", default=7)
# The Ed25519 key that signs the audit log's Merkle checkpoints (evidence.custody.proof): a 0600
# PEM file made on first use. Every web and worker host must read the same file.
CUSTODY_CHECKPOINT_KEY_FILE = BASE_DIR / env.str(
    "CUSTODY_CHECKPOINT_KEY_FILE", default=str(DATA_DIR / "custody-checkpoint.key")
)
# Custody proof exports per user per hour (page and API; case packages are not counted): each
# one signs a checkpoint over the whole audit log, so past this the routes answer 429.
CUSTODY_PROOF_EXPORTS_PER_HOUR = env.int("CUSTODY_PROOF_EXPORTS_PER_HOUR", default=30)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
# Tests run their own worker on a queue of their own, so a developer's worker never eats their tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="canvass")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A task a dead worker held is handed out again after this long: longer than any transcode.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600)
}
# A worker's claim on an item lasts this long and is renewed every third of it while the work
# goes on; a claim that runs out means the worker died, and the sweep offers the item again.
MEDIA_CLAIM_LEASE_SECONDS = env.int("MEDIA_CLAIM_LEASE_SECONDS", default=120)
# How often beat sweeps for items whose claim ran out or whose processing was never queued
# (the broker was down when they arrived), and for tips whose reviewers were never told.
MEDIA_SWEEP_SECONDS = env.int("MEDIA_SWEEP_SECONDS", default=60)
# An item still `received` after this long is queued again (its first task may have been lost).
MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS = env.int("MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS", default=600)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Media work has its own queue so a long transcode never delays a beat job or an email.
CELERY_MEDIA_QUEUE = env.str("CELERY_MEDIA_QUEUE", default="media")
CELERY_TASK_ROUTES = {
    "evidence.tasks.process_item": {"queue": CELERY_MEDIA_QUEUE},
    "evidence.tasks.redact_item": {"queue": CELERY_MEDIA_QUEUE},
}
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-items": {
        "task": "evidence.tasks.requeue_stalled_items",
        "schedule": dt.timedelta(seconds=MEDIA_SWEEP_SECONDS),
    },
    "notify-missed-tips": {
        "task": "submissions.tasks.notify_missed_tips",
        "schedule": dt.timedelta(seconds=MEDIA_SWEEP_SECONDS),
    },
    "expire-uploads": {
        "task": "evidence.tasks.expire_uploads",
        "schedule": crontab(minute="*/15"),
    },
    "verify-evidence": {
        "task": "evidence.tasks.verify_originals",
        "schedule": crontab(day_of_week="sun", hour=3, minute=0),
    },
    "apply-retention": {
        "task": "evidence.tasks.apply_retention",
        "schedule": crontab(hour=1, minute=15),
    },
    "refresh-camera-jurisdictions": {
        "task": "registry.tasks.refresh_jurisdictions",
        "schedule": crontab(hour=0, minute=45),
    },
    "notify-requests-due": {
        "task": "workbench.tasks.notify_requests_due",
        "schedule": crontab(minute="*/15"),
    },
    "footage-requests-sweep": {
        "task": "registry.requests_tasks.footage_requests_sweep",
        "schedule": crontab(minute="*/15"),
    },
    "sign-custody-checkpoint": {
        "task": "evidence.tasks.sign_custody_checkpoint",
        "schedule": crontab(minute=5),
    },
    "take-audit-checkpoints": {
        "task": "portal.tasks.take_audit_checkpoints",
        "schedule": crontab(hour=0, minute=10),
    },
    "forget-stale-device-locations": {
        "task": "devices.tasks.forget_stale_locations",
        "schedule": 60.0,
    },
    "materialise-transparency-figures": {
        "task": "transparency.tasks.materialise_figures",
        "schedule": crontab(minute=20),
    },
    # Daily, so an agency missed on the 1st is drawn the next day; a month is drawn once.
    "draw-review-samples": {
        "task": "review.tasks.draw_monthly_samples",
        "schedule": crontab(hour=0, minute=40),
    },
    "disable-inactive-accounts": {
        "task": "portal.tasks.disable_inactive_accounts",
        "schedule": crontab(hour=2, minute=30),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsVerifiedUser"],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.BoundedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Canvass API",
    "DESCRIPTION": "Evidence sharing between a police agency and its community.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Capture time and location share one set of sources: name that enum once.
    "ENUM_NAME_OVERRIDES": {
        "ValueSourceEnum": "evidence.models.ValueSource",
        # Several models have a `status`: give each its own enum name.
        "TipPublicStatusEnum": "submissions.api.PUBLIC_STATUSES",
        "CaseStatusEnum": "evidence.models.Case.Status",
        "FootageRequestStatusEnum": "registry.models.FootageRequest.Status",
        # A body camera's state beside an item's: the item's keeps the name it always had.
        "StateEnum": "evidence.models.EvidenceItem.State",
        "DeviceStateEnum": "devices.models.Device.State",
        "KindEnum": "registry.models.CameraKind",
    },
}

# Sessions and cookies. Staff idle timeout is enforced (and audited) by middleware;
# the cookie itself lives no longer than a working day.
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# A refused form post gets a page in the site's look and the visitor's language (portal/views.py).
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp) on every page: scripts, styles, fonts and requests only
# from this site, no inline script or style (a nonce for the rare script a template must inline),
# nothing may frame us. Raster tiles may come from the agency's tile server (MAP_TILE_URL); blob:
# is for the ALTCHA proof-of-work workers and hls.js (Media Source) playback.
_TILE_ORIGIN = urlsplit(MAP_TILE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"]
        + ([f"{_TILE_ORIGIN.scheme}://{_TILE_ORIGIN.netloc}"] if _TILE_ORIGIN.netloc else []),
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# HTTPS hardening is on unless explicitly turned off for a plain-HTTP local run.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "portal.log.UTCFormatter",
            "format": "%(asctime)sZ %(levelname)s %(name)s %(message)s",
        },
    },
    "filters": {
        # Nothing about a tipster's request (address, headers) reaches a log line.
        "tipster_privacy": {"()": "submissions.log.TipsterPrivacyFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["tipster_privacy"],
        },
    },
    # The same filter on the loggers that carry requests and connections, so the record is
    # cleaned before any handler (the console, an admin email, a test's capture) sees it.
    "loggers": {
        "django.request": {"filters": ["tipster_privacy"]},
        "django.server": {"filters": ["tipster_privacy"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# Anonymous tips (submissions/): proof-of-work, rate limits per hashed address, receipts.
TIPS_POW_ALGORITHM = env.str("TIPS_POW_ALGORITHM", default="PBKDF2/SHA-256")
TIPS_POW_COST = env.int("TIPS_POW_COST", default=5000)
TIPS_POW_KEY_PREFIX = env.str("TIPS_POW_KEY_PREFIX", default="00")
TIPS_POW_TTL_SECONDS = env.int("TIPS_POW_TTL_SECONDS", default=30 * 60)
TIPS_RATE_CREATE_PER_HOUR = env.int("TIPS_RATE_CREATE_PER_HOUR", default=10)
TIPS_RATE_NOJS_PER_HOUR = env.int("TIPS_RATE_NOJS_PER_HOUR", default=3)
TIPS_RATE_WRONG_RECEIPTS_PER_HOUR = env.int("TIPS_RATE_WRONG_RECEIPTS_PER_HOUR", default=20)
TIPS_RATE_RETURN_ACTIONS_PER_HOUR = env.int("TIPS_RATE_RETURN_ACTIONS_PER_HOUR", default=60)
TIPS_RATE_CHALLENGES_PER_HOUR = env.int("TIPS_RATE_CHALLENGES_PER_HOUR", default=120)
TIPS_RATE_GEOCODE_PER_HOUR = env.int("TIPS_RATE_GEOCODE_PER_HOUR", default=60)
# Prefix of the rate-limit counters in Redis; tests give each test its own, so concurrent runs
# against the same Redis neither share nor wipe each other's counters.
TIPS_RATE_NAMESPACE = ""
# Signed webhooks (CAD incidents, activation triggers): deliveries a minute per client address,
# and per authenticated sender (an agency's CAD, a trigger source); more get 429.
WEBHOOK_RATE_PER_CLIENT_PER_MINUTE = env.int("WEBHOOK_RATE_PER_CLIENT_PER_MINUTE", default=1200)
WEBHOOK_RATE_PER_SENDER_PER_MINUTE = env.int("WEBHOOK_RATE_PER_SENDER_PER_MINUTE", default=600)
# A recording camera not heard from for this long (a flat battery, no signal) leaves the
# operations map, and its last place is forgotten.
DEVICE_LOCATION_STALE_SECONDS = env.int("DEVICE_LOCATION_STALE_SECONDS", default=90)
# Web threads per process that may wait at once on long requests (operations streams, camera
# long-polls); past it a stream sends its snapshot and ends, a long-poll answers at once.
LIVE_HELD_THREADS_PER_PROCESS = env.int("LIVE_HELD_THREADS_PER_PROCESS", default=4)
# Prefix of the live push channels (devices/live.py); tests give each test its own.
LIVE_NAMESPACE = ""
# The operations page's event stream (devices/ops_views.py): each open stream holds one web
# thread, so it ends after OPS_STREAM_SECONDS and the browser reconnects (and gets a fresh
# snapshot); a comment every OPS_KEEPALIVE_SECONDS keeps proxies from closing it, and while
# Redis is away the stream reads the database every OPS_POLL_SECONDS instead.
OPS_STREAM_SECONDS = env.int("OPS_STREAM_SECONDS", default=300)
OPS_KEEPALIVE_SECONDS = env.int("OPS_KEEPALIVE_SECONDS", default=15)
OPS_POLL_SECONDS = env.int("OPS_POLL_SECONDS", default=3)
# The live relay (livefeeds/; nginx + nginx-rtmp, config from `manage.py render_relay_conf`):
# where body cameras push RTMP, where browsers fetch HLS (/hls/<viewer token>/...), its files
# (config, logs, the HLS ring) under RELAY_DIR, and how nginx reaches Django for its callbacks.
RELAY_RTMP_PORT = env.int("RELAY_RTMP_PORT", default=19350)
RELAY_HTTP_PORT = env.int("RELAY_HTTP_PORT", default=18089)
# nginx-rtmp's /control and /stat: their own server on 127.0.0.1, not the HLS port.
RELAY_CONTROL_PORT = env.int("RELAY_CONTROL_PORT", default=18088)
RELAY_DIR = Path(env.str("RELAY_DIR", default=str(DATA_DIR / "relay"))).absolute()
RELAY_DJANGO_URL = env.str("RELAY_DJANGO_URL", default="http://127.0.0.1:8000")
# Shared by nginx's callbacks (in their query: nginx-rtmp cannot add headers) and the relay
# manager's publishes; derived from SECRET_KEY unless set.
RELAY_SECRET = (
    env.str("RELAY_SECRET", default="")
    or hmac.new(SECRET_KEY.encode(), b"canvass relay", hashlib.sha256).hexdigest()
)
# How long the HLS ring keeps (the longest "last N seconds" clip), and how often nginx asks
# Django again whether a live publish may go on.
RELAY_HLS_PLAYLIST_SECONDS = env.int("RELAY_HLS_PLAYLIST_SECONDS", default=60)
RELAY_UPDATE_SECONDS = env.int("RELAY_UPDATE_SECONDS", default=10)
# Where the viewer page fetches HLS: on the page's own origin (the relay's http server passes
# every other path to Django, so http://127.0.0.1:RELAY_HTTP_PORT/ is Canvass with live video;
# in production the front proxy sends /hls/ to the relay).
RELAY_HLS_URL = env.str("RELAY_HLS_URL", default="/hls/")
# Viewing sessions: minutes a session lasts unless the open page renews it, the agency's cap on
# one session however often it is renewed, and how many may watch one feed at once.
LIVE_VIEW_MINUTES = env.int("LIVE_VIEW_MINUTES", default=15)
LIVE_VIEW_CAP_MINUTES = env.int("LIVE_VIEW_CAP_MINUTES", default=120)
LIVE_VIEWERS_PER_FEED = env.int("LIVE_VIEWERS_PER_FEED", default=4)
CELERY_BEAT_SCHEDULE["close-expired-live-views"] = {
    "task": "livefeeds.tasks.close_expired_views",
    "schedule": dt.timedelta(seconds=60),
}
CELERY_BEAT_SCHEDULE["requeue-late-live-clips"] = {
    "task": "livefeeds.tasks.requeue_late_clips",
    "schedule": dt.timedelta(seconds=60),
}
# Size of each tus PATCH a tipster's phone sends (the tip page reads it): smaller pieces lose
# less on a flaky signal; each piece is one request.
TIPS_UPLOAD_CHUNK_BYTES = env.int("TIPS_UPLOAD_CHUNK_BYTES", default=8 * 1024 * 1024)
# A piece that gets no answer and moves no bytes for this long is given up and sent again from
# what the server holds (a phone changing networks can leave a request hanging with nobody on
# the other end).
TIPS_UPLOAD_STALL_SECONDS = env.int("TIPS_UPLOAD_STALL_SECONDS", default=30)
TIPS_RETURN_SESSION_SECONDS = env.int("TIPS_RETURN_SESSION_SECONDS", default=30 * 60)

OTP_TOTP_THROTTLE_FACTOR = 0  # our own lockout counts wrong codes; a delay on top would hide it

# The public footage-request log shows a request's area as a square grid cell of this side
# (metres); transparency/selectors.py never goes below 500.
TRANSPARENCY_GRID_METRES = env.int("TRANSPARENCY_GRID_METRES", default=1000)

# Community review: items drawn per kind each month, how long the panel may open them, and
# the longest finding a reviewer may write.
REVIEW_SAMPLE_PER_KIND = env.int("REVIEW_SAMPLE_PER_KIND", default=10)
REVIEW_ACCESS_DAYS = env.int("REVIEW_ACCESS_DAYS", default=30)
REVIEW_FINDING_MAX_CHARS = env.int("REVIEW_FINDING_MAX_CHARS", default=4000)

# The relay manager (`manage.py relaymgr`, livefeeds/relaymgr.py): it stops a camera's ffmpeg
# RELAYMGR_IDLE_SECONDS after the last viewer request, restarts a failed one after
# RELAYMGR_BACKOFF_MIN_SECONDS doubling up to RELAYMGR_BACKOFF_MAX_SECONDS, gives up on a
# silent camera after RELAYMGR_SOCKET_TIMEOUT_SECONDS, and looks at the wanted set every
# RELAYMGR_POLL_SECONDS. RELAYMGR_ALLOW_PRIVATE_SOURCES lets owners link streams on loopback or
# private addresses (tests, or a deployment inside the cameras' network); off, the server never
# connects to its own neighbourhood on an owner's say-so.
RELAYMGR_IDLE_SECONDS = env.float("RELAYMGR_IDLE_SECONDS", default=20.0)
RELAYMGR_BACKOFF_MIN_SECONDS = env.float("RELAYMGR_BACKOFF_MIN_SECONDS", default=1.0)
RELAYMGR_BACKOFF_MAX_SECONDS = env.float("RELAYMGR_BACKOFF_MAX_SECONDS", default=30.0)
RELAYMGR_SOCKET_TIMEOUT_SECONDS = env.float("RELAYMGR_SOCKET_TIMEOUT_SECONDS", default=5.0)
RELAYMGR_POLL_SECONDS = env.float("RELAYMGR_POLL_SECONDS", default=0.5)
RELAYMGR_ALLOW_PRIVATE_SOURCES = env.bool("RELAYMGR_ALLOW_PRIVATE_SOURCES", default=False)
# `make run` only: the demo CCTV camera (the Procfile's `democam:`, scripts/rtsp_test_camera.py
# on loopback), which seed_demo links to a shop's camera; exactly this host and port may then be
# on loopback. Refused with HTTPS on: a production server never relays its own host.
RELAY_DEMO_CAMERA = env.str("RELAY_DEMO_CAMERA", default="")
if RELAY_DEMO_CAMERA and SECURE_HTTPS:
    raise ImproperlyConfigured(
        "RELAY_DEMO_CAMERA is for `make run`'s plain-HTTP demo only; unset it (HTTPS is on)."
    )
# "Test connection" on an owner's camera stream: at most this many a minute per owner.
FEED_TESTS_PER_MINUTE = env.int("FEED_TESTS_PER_MINUTE", default=4)
