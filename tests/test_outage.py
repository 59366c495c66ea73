"""serverlesspresso.outage: which database errors mean "cannot serve now", and the 503 each kind
of caller gets for them, with DEBUG on (the test settings) as with it off (the production tests
in tests/operations/test_pg_faults.py)."""

import json
import sqlite3

import psycopg
import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError

from serverlesspresso.outage import database_unavailable
from tests.stepfunctions.signed import error_code


def wrapped(cause: Exception, kind: type[DatabaseError] = OperationalError) -> DatabaseError:
    """The error as Django raises it: its own class, the driver's error as the cause."""
    error = kind(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (wrapped(psycopg.errors.AdminShutdown("terminating connection")), "unreachable"),
        (wrapped(psycopg.OperationalError("connection failed: refused")), "unreachable"),
        (wrapped(psycopg.errors.TooManyConnections("too many clients")), "unreachable"),
        (wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), "unreachable"),
        (wrapped(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")), "busy"),
        (wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), "busy"),
        (wrapped(psycopg.InterfaceError("the connection is closed"), InterfaceError), "unreachable"),
        (wrapped(sqlite3.OperationalError("database is locked")), "busy"),
        # Bugs stay 500s with their tracebacks.
        (wrapped(sqlite3.OperationalError("no such table: x")), None),
        (wrapped(psycopg.errors.UniqueViolation("duplicate key"), IntegrityError), None),
        (wrapped(psycopg.errors.DiskFull("could not extend file")), None),
        (ValueError("not a database error"), None),
    ],
)  # fmt: skip
def test_what_counts_as_the_database_unable_to_serve(error, reason):
    assert database_unavailable(error) == reason


def test_each_caller_gets_a_retryable_503_of_its_own_kind(client, db, monkeypatch, caplog):
    user = User.objects.create_user("outage-customer", password="pw-123-outage")
    client.force_login(user)

    def unreachable(**kwargs):
        raise wrapped(psycopg.OperationalError("connection failed: refused"))

    monkeypatch.setattr("stepfunctions.api.protocol.signature_verify", unreachable)
    monkeypatch.setattr(SessionStore, "load", lambda self: unreachable())
    caplog.set_level("INFO")

    api = client.post(
        "/sfn/", data=b"{}", content_type="application/x-amz-json-1.0",
        headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Authorization": "AWS4"},
    )  # fmt: skip
    assert api.status_code == 503 and api["Retry-After"] == "2"
    assert api["Content-Type"] == "application/x-amz-json-1.0"
    assert error_code(api) == "ServiceUnavailable"
    assert "cannot be reached" in json.loads(api.content)["message"]

    detail = client.get("/api/orders/x")
    assert detail.status_code == 503 and detail["Retry-After"] == "2"
    assert detail.json() == {
        "error": "ServiceUnavailable",
        "message": "The database cannot be reached just now; retry shortly.",
    }

    page = client.get("/")
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert b"right back" in page.content and b"Traceback" not in page.content

    # One line a refusal, none of them with a traceback, and no second line from Django.
    lines = [record for record in caplog.records if record.levelname != "DEBUG"]
    assert [record.name for record in lines] == ["serverlesspresso.outage"] * 3, lines
    assert not any(record.exc_info for record in lines)
