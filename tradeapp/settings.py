"""Settings, all from the environment (django-environ); `.env.example` documents every variable.

Where the URLs come from, in order: the process environment, a `.env` file at the top of the repo,
then `var/run/embedded.env`, written by the launcher while the embedded PostgreSQL/Redis run.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from tradeapp.embedded import var_dir

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir()

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
if (VAR_DIR / "run" / "embedded.env").exists():
    environ.Env.read_env(VAR_DIR / "run" / "embedded.env", overwrite=False)

TRADEAPP_ENV = env.str("TRADEAPP_ENV", default="development")  # development | production | test
if TRADEAPP_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("TRADEAPP_ENV must be development, production or test")
PRODUCTION = TRADEAPP_ENV == "production"
TESTING = TRADEAPP_ENV == "test"

DEBUG = env.bool("DJANGO_DEBUG", default=TRADEAPP_ENV == "development")
_INSECURE_DEV_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if PRODUCTION else _INSECURE_DEV_KEY)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _INSECURE_DEV_KEY):
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (50+ random characters) in production")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "tradeapp.core",
    "accounts",
    "marketdata",
    "orders",
    "portfolio",
    "strategies",
    "backtests",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tradeapp.core.logging.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tradeapp.core.logging.UserContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "tradeapp.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "tradeapp.urls"
ASGI_APPLICATION = "tradeapp.asgi.application"
WSGI_APPLICATION = None

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
                "accounts.context_processors.current_account",
            ],
        },
    },
]

# --- Infrastructure: PostgreSQL, Redis, Celery broker ---------------------------------------------
if "DATABASE_URL" not in os.environ:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set and no embedded PostgreSQL is running. Start the platform with "
        "`make run` (it starts the embedded services), or set DATABASE_URL/REDIS_URL."
    )
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
# A psycopg connection pool per process. Under daphne every request otherwise opens a new PostgreSQL
# connection (persistent connections do not suit ASGI): ~5 ms of each order round trip in the trading
# benchmark. DATABASE_POOL_MAX_SIZE=0 turns it off (the test settings do: tests open and close their
# own connections per thread).
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0 if TRADEAPP_ENV == "test" else 10)
if DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=30),
    }
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_tradeapp")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="tradeapp"),
    }
}
# The pub/sub layer: Redis pushes each group message to the web processes subscribed to it, where the
# list-based core layer makes every process pop each message with its own round trip. With 50 quote
# streams and 100 browsers it halved the feed's p99 latency (docs/benchmarks.md). Channels delivers at
# most once either way: clients detect gaps by sequence number and re-sync from REST.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            # redis-py 8 caps an asyncio pool at 100 connections and raises beyond that (it does not
            # wait): 100 browsers connecting at once to one daphne got HTTP 500 (the benchmark found it).
            "hosts": [
                {
                    "address": REDIS_URL,
                    "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000),
                }
            ],
            "prefix": env.str("CHANNELS_PREFIX", default="tradeapp:channels"),
        },
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True  # outcomes that matter are rows in PostgreSQL, not backend results
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ["default", "ingest", "orders", "strategies", "backtests"]
# Tasks are named "<app>.<verb>"; the app decides the queue, so workers can be scaled per workload.
CELERY_TASK_ROUTES = {
    "marketdata.*": {"queue": "ingest"},
    "orders.*": {"queue": "orders"},
    "portfolio.*": {"queue": "orders"},
    "strategies.*": {"queue": "strategies"},
    "backtests.*": {"queue": "backtests"},
    "core.*": {"queue": "default"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Auth ------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tradeapp <noreply@localhost>")

# --- I18N / time -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise; front-end packages from npm under node_modules/) ---------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
if not PRODUCTION:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS: list[object] = [BASE_DIR / "static"]
# Front-end packages come from npm (package.json, installed by `make setup`); only their dist folders
# are served, under /static/npm/<name>/.
NPM_STATIC_PACKAGES = {"lightweight-charts": "lightweight-charts/dist", "htmx": "htmx.org/dist"}
STATICFILES_DIRS += [
    (f"npm/{name}", BASE_DIR / "node_modules" / folder)
    for name, folder in NPM_STATIC_PACKAGES.items()
    if (BASE_DIR / "node_modules" / folder).is_dir()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- API ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "tradeapp.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "tradeapp API",
    "DESCRIPTION": "REST API of tradeapp: accounts, market data, orders, positions, strategies, backtests. "
    "Authenticate with `Authorization: Token <key>` (create keys on the Settings page) or a browser session. "
    'Errors are JSON: {"code", "message", "field"}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrderSideEnum": ["buy", "sell"],
        "PositionSideEnum": ["long", "short"],
        # several models have a "status" or "kind": each gets its own named enum in the schema
        "BacktestStatusEnum": ["queued", "running", "completed", "failed", "canceled"],
        "BacktestKindEnum": ["single", "grid", "random", "walk_forward", "monte_carlo"],
    },
}

# --- Security ----------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes talk plain HTTP inside the network

# Secrets at rest (broker keys): Fernet keys, comma-separated, newest first (rotation-friendly).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- Trading defaults --------------------------------------------------------------------------------
PAPER_STARTING_CASH = env.str("PAPER_STARTING_CASH", default="100000.00")
DEMO_USERNAME = env.str("DEMO_USERNAME", default="demo")
# The paper broker's fill model (orders.matching): adverse slippage on market and stop fills, in basis
# points, and commission in basis points of notional plus a fixed amount per share (0: commission-free).
PAPER_SLIPPAGE_BPS = env.str("PAPER_SLIPPAGE_BPS", default="0")
PAPER_COMMISSION_BPS = env.str("PAPER_COMMISSION_BPS", default="0")
PAPER_COMMISSION_PER_SHARE = env.str("PAPER_COMMISSION_PER_SHARE", default="0")
# A quote older than this does not fill orders on submission (the order rests until a fresh one).
QUOTE_MAX_AGE_SECONDS = env.int("QUOTE_MAX_AGE_SECONDS", default=120)

# --- Market data -------------------------------------------------------------------------------------
# Which provider serves history and live quotes (a name in marketdata.ingest.PROVIDERS).
MARKETDATA_PROVIDER = env.str("MARKETDATA_PROVIDER", default="simulator")
SIMULATOR_SEED = env.int("SIMULATOR_SEED", default=7)
SIMULATOR_QUOTES_PER_SECOND = env.float("SIMULATOR_QUOTES_PER_SECOND", default=4.0)
# Symbols the live feed streams (comma-separated; empty: every instrument of the provider).
MARKETDATA_FEED_SYMBOLS = env.list("MARKETDATA_FEED_SYMBOLS", default=[])
# Retention (marketdata.apply_retention, daily): 1m bars, then 5m/15m bars; 1h and 1d are kept.
MARKETDATA_MINUTE_RETENTION_DAYS = env.int("MARKETDATA_MINUTE_RETENTION_DAYS", default=35)
MARKETDATA_INTRADAY_RETENTION_DAYS = env.int("MARKETDATA_INTRADAY_RETENTION_DAYS", default=400)
if MARKETDATA_MINUTE_RETENTION_DAYS < 30:
    raise ImproperlyConfigured(
        "MARKETDATA_MINUTE_RETENTION_DAYS must be at least 30 (the backfill keeps 30 days)"
    )
if MARKETDATA_INTRADAY_RETENTION_DAYS < MARKETDATA_MINUTE_RETENTION_DAYS:
    raise ImproperlyConfigured(
        "MARKETDATA_INTRADAY_RETENTION_DAYS must not be below MARKETDATA_MINUTE_RETENTION_DAYS"
    )

# --- Logging (structlog: JSON in production, readable in development) --------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
from tradeapp.core.logging import build_logging_config  # noqa: E402  (needs the values above)

LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
