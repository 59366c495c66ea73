"""The Step Functions API's path through the web server (serverlesspresso.asgi routes every POST to
/sfn/ but the long polls and the sync runs here): Django's WSGI handler with only the middleware
the API needs, run in the same request threads as every other request, one hand-off each way."""

import asyncio
import contextvars
import functools
import io

from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch

# What the Step Functions API needs of settings.MIDDLEWARE: its JSON answers set no cookie, render
# no page and read no session or user (SigV4 names the caller), so sessions, CSRF (the view is
# exempt), auth, messages, CSP, static files and the rest only cost CPU on every call (about a
# third of the web's own work per call, profiled). The security headers, the NUL refusal and the
# database outage's 503 stay.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "serverlesspresso.middleware.refuse_nul",
    "serverlesspresso.outage.DatabaseOutageMiddleware",
]


# The endpoint's own paths (serverlesspresso/urls.py): resolved once, their match kept; any other
# path under /sfn is resolved as Django resolves it (to a 404).
ENDPOINT_PATHS = ("/sfn", "/sfn/")


class ApiHandler(WSGIHandler):
    """Django's WSGI handler for POSTs to the Step Functions API, with API_MIDDLEWARE, and the
    endpoint's paths resolved once (the URL resolver's walk is the same every call)."""

    def __init__(self) -> None:
        super().__init__()
        self._matches: dict[str, ResolverMatch] = {}

    def resolve_request(self, request) -> ResolverMatch:
        path = request.path_info
        if path not in ENDPOINT_PATHS or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        match = self._matches.get(path)
        if match is None:
            match = self._matches[path] = super().resolve_request(request)
        request.resolver_match = match
        return match

    def load_middleware(self, is_async: bool = False) -> None:
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = everything


class ApiBridge:
    """POSTs to the Step Functions API from the event loop to the WSGI request threads with one
    hand-off each way: the body (at most SFN_MAX_BODY_BYTES of it; the view refuses a longer one
    by its Content-Length) read on the loop, the whole request run in a pool thread, the answer
    sent from the loop. a2wsgi's general bridge hands each read and each send over separately
    (a body read, the start, the body, its end: four waits of a thread on the loop), which cost
    more CPU per call than the API's own work. Same threads as a2wsgi's, so the same database
    connections."""

    def __init__(self, app, executor, limit: int) -> None:
        self.app = app
        self.executor = executor
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        chunks, size, more = [], 0, True
        while more and size <= self.limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        environ = build_environ(scope, io.BytesIO(b"".join(chunks)))
        run = functools.partial(contextvars.copy_context().run, self._run, environ)
        status, headers, body = await asyncio.get_running_loop().run_in_executor(self.executor, run)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _run(self, environ) -> tuple[int, list, bytes]:
        started, written = [], []

        def start_response(status, headers, exc_info=None):
            started[:] = [int(status.split(" ", 1)[0]), [
                (name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers
            ]]  # fmt: skip
            return written.append

        answer = self.app(environ, start_response)
        try:
            # request_finished (and with it the database connection's upkeep) in this thread.
            body = b"".join([*written, *answer])
        finally:
            getattr(answer, "close", lambda: None)()
        return started[0], started[1], body
