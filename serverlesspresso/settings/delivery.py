"""Celery's delivery settings, which every environment shares (serverlesspresso.settings.base
imports them): at-least-once delivery of idempotent tasks, and what each setting prevents."""

# Ack after the task ran, not when it was received: a worker killed mid-task leaves the message
# to be redelivered instead of silently dropping an order's stage.
CELERY_TASK_ACKS_LATE = True
# With acks_late, a task whose worker process died (OOM, SIGKILL) is requeued, not acked.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message reserved per worker process: a busy or dying worker does not sit on others' stages.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis redelivers an unacked message after this many seconds; it must exceed the longest
    # task (hard limit below), or a slow stage would run twice concurrently.
    "visibility_timeout": 3600,
    # A broker gone without closing the socket (a dead host, a NAT or firewall drop) would
    # otherwise hang a publish, and the request making it, for ever. Above the 1 s BRPOP timeout.
    "socket_timeout": 5,
    # A broker that is down fails a connect within seconds, not the kernel's minutes.
    "socket_connect_timeout": 3,
    "socket_keepalive": True,
    # Pings idle connections, so a half-open one is dropped and reconnected within ~20 s
    # instead of a consumer waiting on it for ever.
    "health_check_interval": 10,
    # A command that timed out once is tried again on a fresh connection instead of failing.
    "retry_on_timeout": True,
}
# Reconnect after a lost broker connection, for ever: the default gives up after 100 tries and
# the worker exits, leaving every stage READY until someone restarts it.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The stages running when the connection drops are cancelled and their messages go back to the
# queue (a stage is idempotent and its transaction rolls back), rather than left unacked until
# the visibility timeout.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fixup closes every database connection around each task unless this is set;
# serverlesspresso.celery keeps them as Django's request cycle does (CONN_MAX_AGE, a broken one
# dropped). The fixup still closes them all once every this many tasks.
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Nobody reads task results: the database holds every outcome.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
