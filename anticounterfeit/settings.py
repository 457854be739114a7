"""Settings, read from the environment (django-environ).

With nothing set, the *embedded default* runs on a bare machine: a SQLite file
and Celery tasks executed in-process. With DATABASE_URL and CELERY_BROKER_URL
(or REDIS_URL) set, it is the real deployment: PostgreSQL, Redis and separate
worker processes.

Safe by default: DEBUG is off unless the embedded demo (EMBEDDED_DEMO, set by
``./run demo``) asks for it, so a deployment that forgets DEBUG serves plain
error pages and needs its own SECRET_KEY.
"""
from datetime import timedelta
from pathlib import Path

import environ

from ml.config import DetectorConfig, ImageLimits, OcrConfig

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

EMBEDDED_MODE = not (env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default=""))
# The local demo (`./run demo`): embedded mode with DEBUG on and a dev-only key; announced loudly (core.apps).
EMBEDDED_DEMO = env.bool("EMBEDDED_DEMO", default=False) and EMBEDDED_MODE
DEBUG = env.bool("DEBUG", default=EMBEDDED_DEMO)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # `collectstatic` fills it; empty is fine (see WHITENOISE_USE_FINDERS)
# Without `collectstatic` (./run web, the demo) whitenoise finds files in the apps' static folders.
WHITENOISE_USE_FINDERS = True

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded mode's task thread writes while requests write. WAL lets reads go on during a write; a writer
    # waits for the lock (timeout, seconds) instead of failing at once; IMMEDIATE takes the write lock when a
    # transaction begins, so two writers never deadlock upgrading a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 30, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"})

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "anticounterfeit.core",
    "anticounterfeit.accounts",
    "anticounterfeit.catalog",
    "anticounterfeit.listings",
    "anticounterfeit.trust",
    "anticounterfeit.moderation",
    "anticounterfeit.notifications",
    "anticounterfeit.api",
    "anticounterfeit.detection",
    "anticounterfeit.compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the console's CSS and vendored htmx) from the app server itself, DEBUG or not.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "anticounterfeit.core.middleware.RequestIdMiddleware",
]

ROOT_URLCONF = "anticounterfeit.urls"
WSGI_APPLICATION = "anticounterfeit.wsgi.application"
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
                "anticounterfeit.accounts.context_processors.role",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
# Failed logins per (account, IP) within the window before the login form answers 429 (IP budget: x IP_FACTOR).
LOGIN_RATE_LIMIT = {"FAILURES": env.int("LOGIN_MAX_FAILURES", default=10), "WINDOW_SECONDS": 300, "IP_FACTOR": 5}
# Throttle counters (API and login). Per process by default; set CACHE_URL=rediscache://host:6379/2 when running
# several web processes (a separate Redis database, so a broker outage does not take the API down with it).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=40 * 1024 * 1024)
# A brand portal folder upload sends every file of the bundle folder: as many as a ZIP bundle may hold.
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=20_000)

# --- Security (production: DEBUG=False) ---
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email: console backend by default, SMTP via EMAIL_URL ---
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="trust-safety@marketplace.example")

# --- Celery ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="memory://"))
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None) or None
CELERY_TASK_ALWAYS_EAGER = EMBEDDED_MODE
CELERY_TASK_EAGER_PROPAGATES = True
# Acknowledged on receipt by default: a task that talks to the outside (e-mail, webhooks) must not run twice
# because its worker died. Idempotent tasks opt in to late acknowledgement (``acks_late=True`` on the task).
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
# How long a message taken by a worker that died (SIGKILL, lost machine) stays invisible before redelivery.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {
    "workers.scan.scan_ocr": {"queue": "ocr"},  # OCR follow-ups: own queue/pool, never delay first verdicts
    "workers.scan.*": {"queue": "scan"},
    "workers.bank_builds.*": {"queue": "index"},
    "workers.notify.*": {"queue": "notify"},
    "workers.maintenance.*": {"queue": "index"},
    "workers.training.*": {"queue": "index"},
    "workers.trust.*": {"queue": "index"},
    "workers.retro.*": {"queue": "scan"},  # catalog imports and retroactive matching scan listings
}
CELERY_TASK_DEFAULT_QUEUE = "scan"
# The transactional outbox (anticounterfeit.core.queue): the relay's pause between rounds, and how long a
# published message may stay unconsumed before the relay publishes it again (the broker lost it).
OUTBOX = {
    "RELAY_INTERVAL_SECONDS": env.float("OUTBOX_RELAY_INTERVAL_SECONDS", default=1.0),
    "REPUBLISH_AFTER_SECONDS": env.int("OUTBOX_REPUBLISH_AFTER_SECONDS", default=3600),
}
CELERY_BEAT_SCHEDULE = {
    "compact-banks": {"task": "workers.bank_builds.compact_banks", "schedule": timedelta(minutes=env.int("BANK_COMPACT_MINUTES", default=60))},
    "relay-outbox": {"task": "workers.maintenance.relay_outbox", "schedule": timedelta(seconds=env.int("OUTBOX_BEAT_SECONDS", default=30))},
    "requeue-stuck-pending": {"task": "workers.maintenance.requeue_stuck_listings", "schedule": timedelta(seconds=env.int("SWEEP_INTERVAL_SECONDS", default=120))},
    "expire-case-leases": {"task": "workers.maintenance.expire_case_leases", "schedule": timedelta(minutes=1)},
    "remove-orphan-files": {"task": "workers.maintenance.remove_orphan_files", "schedule": timedelta(hours=6)},
    "resend-stalled-emails": {"task": "workers.notify.resend_stalled_emails", "schedule": timedelta(minutes=30)},
    "sweep-failed-webhooks": {"task": "workers.notify.sweep_failed_webhooks", "schedule": timedelta(minutes=15)},
    "credit-account-age": {"task": "workers.trust.credit_account_age", "schedule": timedelta(hours=24)},
    "submit-statements": {"task": "workers.maintenance.submit_statements", "schedule": timedelta(hours=1)},
    "retrain-scorer": {"task": "workers.training.retrain_scorer_if_due", "schedule": timedelta(hours=env.float("RETRAIN_CHECK_HOURS", default=6))},
}

# --- Detection ---
DETECTION = {
    # One source of truth for defaults; the live values are the DetectionPolicy row (editable by admins).
    "REVIEW_THRESHOLD": env.float("REVIEW_THRESHOLD", default=0.5),
    "HIGH_PRIORITY_THRESHOLD": env.float("HIGH_PRIORITY_THRESHOLD", default=0.85),
    "BANK_DIR": MEDIA_ROOT / "banks",
    "EMBED_CACHE_DIR": VAR_DIR / "embed-cache",
    "STUCK_PENDING_AFTER": timedelta(minutes=env.float("STUCK_PENDING_MINUTES", default=5)),
    # A fast result still waiting for its OCR follow-up this long gets the follow-up queued again (beat sweeper).
    "OCR_FOLLOWUP_GRACE": timedelta(seconds=env.float("OCR_FOLLOWUP_GRACE_SECONDS", default=600)),
    # Scorer retraining from moderator decisions (anticounterfeit.detection): the beat task retrains once this
    # many new takedown/dismiss decisions exist; no version is trained on fewer labelled listings than the minimum.
    "RETRAIN_MIN_NEW_DECISIONS": env.int("RETRAIN_MIN_NEW_DECISIONS", default=200),
    "RETRAIN_MIN_DECISIONS": env.int("RETRAIN_MIN_DECISIONS", default=100),
    # The beat job's candidate goes live only if its backtest over this window has enough decided listings and
    # neither precision nor recall falls more than the drop below the live scorer's; otherwise a lead decides.
    "RETRAIN_BACKTEST_DAYS": env.int("RETRAIN_BACKTEST_DAYS", default=30),
    "RETRAIN_MIN_BACKTEST_DECIDED": env.int("RETRAIN_MIN_BACKTEST_DECIDED", default=50),
    "RETRAIN_MAX_METRIC_DROP": env.float("RETRAIN_MAX_METRIC_DROP", default=0.02),
}

# --- ML (ml/ reads no environment: anticounterfeit/detection/ml_config.py passes these into its config classes) ---
AC_ENGINE = env.str("AC_ENGINE", default="auto")  # cuda | mixed | onnx | compile | eager | auto (ml.engines)
AC_BF16 = env.str("AC_BF16", default="auto")  # bf16 policy of the CPU engines: auto | 1 | 0
AC_ENGINE_CACHE = env.str("AC_ENGINE_CACHE", default="")  # ONNX exports; "" = ~/.cache/anticounterfeit/engines
TORCH_THREADS = env.int("TORCH_THREADS", default=0)  # intra-op threads per process; 0 = all cores of this worker
AC_IMAGE_THREADS = env.int("AC_IMAGE_THREADS", default=0)  # image decode threads; 0 = from TORCH_THREADS, max 4
AC_LOGO_VERIFY = env.bool("AC_LOGO_VERIFY", default=True)  # the follow-up scan's small-logo stage
# images OCR reads per listing, stopping at the first that names a brand; 0 = off
AC_OCR_MAX_IMAGES = env.int("AC_OCR_MAX_IMAGES", default=DetectorConfig().ocr_max_images)
# OCR's text detector in int8 (made once into AC_ENGINE_CACHE)
AC_OCR_INT8 = env.bool("AC_OCR_INT8", default=OcrConfig().int8_detector)
# Vector banks (ml.config.BankConfig): exact search up to AC_HNSW_ABOVE vectors, HNSW up to AC_IVF_ABOVE, IVF-PQ above.
AC_HNSW_ABOVE = env.int("AC_HNSW_ABOVE", default=50_000)
AC_HNSW_EF_SEARCH = env.int("AC_HNSW_EF_SEARCH", default=128)
AC_IVF_ABOVE = env.int("AC_IVF_ABOVE", default=200_000)
AC_IVF_NPROBE = env.int("AC_IVF_NPROBE", default=16)

CASE_LEASE = timedelta(minutes=env.int("CASE_LEASE_MINUTES", default=15))
CASE_SLA = timedelta(hours=env.int("CASE_SLA_HOURS", default=24))  # oldest open case older than this is flagged
# Queue recency: a case opened this much later counts double (moderation.actions.case_priority). Changing it
# re-ranks nothing by itself: run `manage.py rerank_cases` after.
CASE_PRIORITY_HALF_LIFE = timedelta(hours=env.float("CASE_PRIORITY_HALF_LIFE_HOURS", default=72))
APPEAL_WINDOW = timedelta(days=env.int("APPEAL_WINDOW_DAYS", default=14))
# Reviewer QA (moderation.qa): this share of decisions, plus every decision on a golden case, gets a blind second review.
QA_SAMPLE_RATE = env.float("QA_SAMPLE_RATE", default=0.05)

# --- DSA statements of reasons (compliance) and their submission to the EU Transparency Database ---
DSA = {
    "TERMS_URL": env.str("DSA_TERMS_URL", default=""),  # the policy a terms-based takedown relies on
    "TERRITORIAL_SCOPE": env.list("DSA_TERRITORIAL_SCOPE", default=[]),  # country codes; empty = the EU 27
    "SUBMIT_URL": env.str("DSA_SUBMIT_URL", default=""),  # statements endpoint; empty = no submission
    "SUBMIT_TOKEN": env.str("DSA_SUBMIT_TOKEN", default=""),
    "SUBMIT_BATCH": env.int("DSA_SUBMIT_BATCH", default=100),  # the API takes at most 100 statements per call
    "SUBMIT_RETRIES": env.int("DSA_SUBMIT_RETRIES", default=3),
    "SUBMIT_RETRY_SECONDS": env.float("DSA_SUBMIT_RETRY_SECONDS", default=2.0),
    "SUBMIT_TIMEOUT_SECONDS": 30,
}

# --- Trust rating ---
TRUST = {
    "HALF_LIFE_DAYS": env.float("TRUST_HALF_LIFE_DAYS", default=180.0),
    "PRIOR_GOOD": 3.0,
    "PRIOR_BAD": 1.5,
    # Repeat-infringer policy: this many confirmed takedowns inside the window open a restriction review.
    "REPEAT_STRIKES": env.int("TRUST_REPEAT_STRIKES", default=3),
    "REPEAT_WINDOW_DAYS": env.int("TRUST_REPEAT_WINDOW_DAYS", default=90),
    # Linked sellers: a listing image this close to a confirmed counterfeit of another seller suggests a link
    # (a moderator confirms it before it counts).
    "LINK_PDQ_MAX_DISTANCE": 31,
    "LINK_MIN_COSINE": 0.97,
    "LINK_CANDIDATES": 2000,
    # An image hash shown by this many sellers of one marketplace is a stock photo: no evidence of a link.
    "LINK_COMMON_IMAGE_SELLERS": 4,
    # Clean-sales reports (POST /api/v1/sellers/{id}/sales): bounds on one report.
    "MAX_SALES_PER_REPORT": env.int("TRUST_MAX_SALES_PER_REPORT", default=1_000_000),
    "SALES_REPORT_MAX_AGE_DAYS": env.int("TRUST_SALES_REPORT_MAX_AGE_DAYS", default=366),
}

# --- Notices: email and marketplace webhooks (workers.notify, notify queue) ---
NOTIFY = {
    "MAX_RETRIES": env.int("NOTIFY_MAX_RETRIES", default=8),
    "RETRY_BASE_SECONDS": env.float("NOTIFY_RETRY_BASE_SECONDS", default=5.0),
    "RETRY_MAX_SECONDS": 3600,
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    # Deliveries that used up their retries are re-attempted by the beat sweeper after SWEEP_AFTER × 2^sweeps,
    # at most MAX_SWEEPS times; then they are marked abandoned (visible on the client's webhook page).
    "WEBHOOK_SWEEP_AFTER_SECONDS": env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=6 * 3600),
    "WEBHOOK_MAX_SWEEPS": env.int("WEBHOOK_MAX_SWEEPS", default=3),
    # Per-client webhook secrets are derived from this key (see notifications.webhooks.signing_secret).
    "WEBHOOK_SIGNING_KEY": env.str("WEBHOOK_SIGNING_KEY", default=SECRET_KEY),
    # After a rotation the previous secret's signature is also sent (X-AC-Signature-Previous) for this long.
    "WEBHOOK_SECRET_GRACE_HOURS": env.float("WEBHOOK_SECRET_GRACE_HOURS", default=24.0),
    # No server-side request forgery (notifications.webhook_guard): https only, public addresses only, unless these
    # allow plain http / loopback and private networks (tests, an on-premise receiver).
    "WEBHOOK_ALLOW_HTTP": env.bool("WEBHOOK_ALLOW_HTTP", default=False),
    "WEBHOOK_ALLOW_PRIVATE_HOSTS": env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False),
    "SITE_URL": env.str("SITE_URL", default="http://127.0.0.1:8000"),
}

# --- Brand self-service removal (catalog.accuracy): granted while both rules hold, revoked when either fails ---
BRAND_SELF_SERVICE = {
    "MIN_DECIDED_REPORTS": env.int("BRAND_MIN_DECIDED_REPORTS", default=50),
    "WINDOW": env.int("BRAND_ACCURACY_WINDOW", default=50),  # the last N decided reports are counted
    "MIN_CONFIRMED_RATE": env.float("BRAND_MIN_CONFIRMED_RATE", default=0.9),
    "MAX_REVERSAL_RATE": env.float("BRAND_MAX_REVERSAL_RATE", default=0.05),
}
RETRO_MATCH_BATCH = env.int("RETRO_MATCH_BATCH", default=16)

# --- Images and bundles (bad input limits) ---
# One source for what a listing may carry: the API refuses more, and the detector scans all of it.
IMAGE_LIMITS = ImageLimits()
UPLOAD_LIMITS = {
    "MAX_IMAGE_BYTES": IMAGE_LIMITS.max_image_bytes,
    "MAX_IMAGE_PIXELS": IMAGE_LIMITS.max_image_pixels,
    "MAX_IMAGES_PER_LISTING": IMAGE_LIMITS.max_images_per_listing,
    "MAX_TITLE": 300,
    "MAX_DESCRIPTION": 10_000,
    "MAX_BATCH": 500,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle",
                                 "rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_RATE", default="6000/min"),
                               "anon": env.str("API_ANON_RATE", default="60/min")},
    "EXCEPTION_HANDLER": "anticounterfeit.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Anticounterfeit API",
    "DESCRIPTION": "Marketplace listing intake and scan results.",
    "VERSION": "1.0.0",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # In the embedded mode every task runs in-process; one line per task would drown the demo's output.
        "celery.app.trace": {"level": "WARNING" if EMBEDDED_MODE else "INFO"},
    },
}
