"""The web application every shape serves (runsystem, the Procfile, docker-compose, the image):
uvicorn workers under gunicorn (`-k uvicorn_worker.UvicornWorker`) run it, on one address.

Requests and live streams take different paths:
- /events/* (server-sent events, orders.web.stream) go to Django's ASGI handler: each open stream
  is a coroutine on the worker's event loop waiting on Redis, so a thousand open display boards
  cost memory and file descriptors, never a request thread.
- GetActivityTask (a POST to /sfn/ with that X-Amz-Target: a worker's long poll of up to 60 s)
  goes to the same kind of handler, resolved to the engine's async view: an idle poller is a
  coroutine waiting on Redis, so hundreds of them hold none of the request threads.
- Every other POST to /sfn/ goes to api_bridge.ApiBridge: the same request threads, one hand-off
  each way, and only the middleware the API needs (api_bridge.API_MIDDLEWARE).
- Every other request goes to Django's WSGI handler in a pool of WEB_REQUEST_THREADS threads
  (a2wsgi), as gunicorn's gthread workers ran it: the pool's threads live on, so their database
  connections persist (CONN_MAX_AGE).

Why not every view through Django's ASGI handler: a sync view there runs in a new thread per
request, so persistent database connections are never reused (each request opens one, and with
CONN_MAX_AGE the dropped ones pile up until PostgreSQL refuses clients), and it measured ~30%
more server CPU per Step Functions API call than this split (README, "Serving").
"""

import os

import django
from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import ResolverMatch

from serverlesspresso.api_bridge import ApiBridge, ApiHandler
from serverlesspresso.database_bounds import web_bounds_install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.production")

STREAM_PREFIX = "/events/"
# The Step Functions API (serverlesspresso/urls.py) and the operation whose long poll waits on
# the event loop (stepfunctions.api.polls).
SFN_PREFIX = "/sfn"
POLL_TARGET = b"AWSStepFunctions.GetActivityTask"
SYNC_TARGET = b"AWSStepFunctions.StartSyncExecution"
# What a stream needs: its security headers, the session and the user. All async-capable, so an
# anonymous stream never leaves the event loop; a sync-only middleware here would hold a thread
# for each open stream (Django runs it in a per-request thread that lives as long as the stream).
STREAM_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


class StreamHandler(ASGIHandler):
    """Django's ASGI handler for the streams: STREAM_MIDDLEWARE instead of settings.MIDDLEWARE,
    and the streams' bits of sync work (the request signals' receivers, a logged-in user's
    session read) all in the process's one shared sync thread. Django's own handler gives each
    request a sync thread of its own that lives until the response ends: for a stream, minutes of
    an idle thread, a thousand of them for a thousand display boards."""

    async def __call__(self, scope, receive, send) -> None:
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; swapped only while it does, once,
        # when this module is imported (before any request).
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = STREAM_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


class ActivityPollHandler(StreamHandler):
    """GetActivityTask's long polls (a POST to the Step Functions API with that X-Amz-Target):
    the stream handler, with every request resolved to the engine's async view, so a waiting
    worker is a coroutine on the event loop, never a request thread (the pool's threads stay for
    the rest of the API however many workers poll)."""

    def resolve_request(self, request):
        from stepfunctions.api.polls import get_activity_task

        match = ResolverMatch(get_activity_task, (), {}, url_name="get-activity-task")
        request.resolver_match = match
        return match


class SyncExecutionHandler(StreamHandler):
    """StartSyncExecution (a POST to the Step Functions API with that X-Amz-Target): resolved to
    the engine's async view, so a caller waiting for an Express run's end is a coroutine, not a
    request thread."""

    def resolve_request(self, request):
        from stepfunctions.api.sync_view import start_sync_execution_view

        match = ResolverMatch(start_sync_execution_view, (), {}, url_name="start-sync-execution")
        request.resolver_match = match
        return match


def _is_activity_poll(scope) -> bool:
    return _sfn_target(scope) == POLL_TARGET


def _sfn_target(scope) -> bytes | None:
    """A POST to the Step Functions API: its X-Amz-Target."""
    if not scope["path"].startswith(SFN_PREFIX) or scope.get("method") != "POST":
        return None
    return next((value for name, value in scope["headers"] if name == b"x-amz-target"), None)


django.setup(set_prefix=False)
# Before any request opens a connection: the web's lock and statement bounds.
web_bounds_install()
streams = StreamHandler()
polls = ActivityPollHandler()
sync_runs = SyncExecutionHandler()
requests = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_REQUEST_THREADS)
api = ApiBridge(ApiHandler(), requests.executor, settings.SFN_MAX_BODY_BYTES)


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        if scope["path"].startswith(STREAM_PREFIX):
            app = streams
        elif _is_activity_poll(scope):
            app = polls
        elif _sfn_target(scope) == SYNC_TARGET:
            app = sync_runs
        elif scope["path"].startswith(SFN_PREFIX) and scope.get("method") == "POST":
            app = api
        else:
            app = requests
        await app(scope, receive, send)
    elif scope["type"] == "lifespan":
        # Nothing to set up or tear down: say so, so the server does not log a failed lifespan.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
