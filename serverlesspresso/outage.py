"""The web's answer when the database cannot serve: a retryable 503 in the caller's language,
never a traceback page, and one log line per refused request.

The database is unreachable (refused connections, a connection dropped mid-request, a server
shutting down) or busy (a statement past its lock or statement bound, serverlesspresso.
database_bounds). Any other database error is a bug, and stays a 500 with its traceback.

By path: the Step Functions API (/sfn/) answers as AWS does (ServiceUnavailable), the coffee bar's
JSON views (/api/) a JSON error of their own shape, everything else a plain "we'll be right back"
page. DatabaseOutageMiddleware answers for the views (and their templates); handler500 (urls.py)
for the rest, e.g. a session saved after the view, when DEBUG is off.
"""

import logging
import sys
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from stepfunctions.api.protocol import service_unavailable

logger = logging.getLogger(__name__)

SFN_PREFIX = "/sfn"
JSON_PREFIX = "/api/"
PAGE = (Path(__file__).resolve().parent / "templates" / "outage.html").read_text()
# SQLSTATE classes of a server that cannot serve now: connection exceptions, operator intervention
# (shutting down, starting up, terminated backends); and no connection slot left.
_UNREACHABLE_CLASSES = ("08", "57")
_TOO_MANY_CONNECTIONS = "53300"
# A statement past its bound: lock_timeout, statement_timeout.
_BUSY_STATES = ("55P03", "57014")
MESSAGES = {
    "unreachable": "The database cannot be reached just now; retry shortly.",
    "busy": "The database is busy (a statement waited past its bound); retry shortly.",
}


def database_unavailable(error: BaseException) -> str | None:
    """ "unreachable" or "busy" when `error` says the database cannot serve now (a retry may
    succeed), else None."""
    if isinstance(error, InterfaceError):
        # A connection already closed under Django.
        return "unreachable"
    if not isinstance(error, OperationalError):
        return None
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None)
    if type(cause).__module__.startswith("psycopg"):
        if state in _BUSY_STATES:
            return "busy"
        # No SQLSTATE: the client lost or never got a connection.
        if (
            state is None
            or state == _TOO_MANY_CONNECTIONS
            or state.startswith(_UNREACHABLE_CLASSES)
        ):
            return "unreachable"
        return None
    # SQLite: only a lock held past the connection's timeout; "no such table" is a bug.
    return "busy" if "locked" in str(error) else None


def outage_response(request: HttpRequest, reason: str) -> HttpResponse:
    """The 503 for `reason` ("unreachable" or "busy"), in the language of the request's path."""
    retry_after = settings.DATABASE_RETRY_AFTER_SECONDS
    message = MESSAGES[reason]
    path = request.path_info
    if path == SFN_PREFIX or path.startswith(SFN_PREFIX + "/"):
        response = service_unavailable(message, retry_after=retry_after)
    else:
        if path.startswith(JSON_PREFIX):
            response = JsonResponse({"error": "ServiceUnavailable", "message": message}, status=503)
        else:
            response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    # Django would log a second line ("Service Unavailable: /path") for it.
    response._has_been_logged = True
    return response


def _answered(request: HttpRequest, error: BaseException, reason: str) -> HttpResponse:
    first_line = (str(error).strip() or type(error).__name__).splitlines()[0][:200]
    logger.warning(
        "Database %s: %s %s answered 503: %s", reason, request.method, request.path, first_line
    )
    return outage_response(request, reason)


class DatabaseOutageMiddleware:
    """A view (or its template) that met an unreachable or busy database answers 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        reason = database_unavailable(exception)
        return None if reason is None else _answered(request, exception, reason)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the outage's 503 for a database error outside a view, Django's page else."""
    error = sys.exc_info()[1]
    reason = database_unavailable(error) if error is not None else None
    if reason is None:
        return defaults.server_error(request)
    return _answered(request, error, reason)
