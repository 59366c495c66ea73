"""What one API call costs the database: the key, its user and the operation's permission in one
query; last_used_at written at most once a minute; the reads without the definition. And the
permission answered from that query is what user.has_perm would answer."""

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from stepfunctions import services
from stepfunctions.models import AccessKey
from stepfunctions.services.access_keys import (
    access_key_create,
    access_key_find,
    access_key_permitted,
)
from tests.conftest import SEED_INPUT
from tests.stepfunctions.signed import error_code, signed_post


class GrantsEverything:
    """An authentication backend that grants every permission (a site's own, beside Django's)."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return True


@pytest.fixture
def execution(machine, inline_stages):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT, name="counted")
    return execution


def _queries(client, key, operation: str, body: dict) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = signed_post(client, key, operation, json.dumps(body))
    assert response.status_code == 200, response.content
    return response, [q["sql"] for q in captured.captured_queries]


def test_a_read_is_one_query_for_the_key_and_one_per_row_kind(client, sfn_key, execution):
    arn = {"executionArn": execution.arn}
    _, first = _queries(client, sfn_key, "DescribeExecution", arn)
    # The key's first use writes last_used_at; the next calls within the minute do not.
    assert sum(sql.startswith("UPDATE") for sql in first) == 1
    response, describe = _queries(client, sfn_key, "DescribeExecution", arn)
    assert json.loads(response.content)["name"] == "counted"
    assert len(describe) == 2, describe  # the key with its permission; the execution
    assert "definition" not in describe[1]  # the version (the definition) is not read
    response, history = _queries(client, sfn_key, "GetExecutionHistory", arn)
    assert json.loads(response.content)["events"][0]["type"] == "ExecutionStarted"
    assert len(history) == 2, history  # the key; the events, with the execution's lookup
    AccessKey.objects.filter(pk=sfn_key.pk).update(last_used_at=None)
    _, again = _queries(client, sfn_key, "DescribeExecution", arn)
    assert sum(sql.startswith("UPDATE") for sql in again) == 1


def test_the_permission_read_with_the_key_is_what_has_perm_says(transactional_db):
    users = get_user_model().objects
    reader = Group.objects.create(name="readers")
    reader.permissions.add(Permission.objects.get(codename="sfn_read"))
    keys = {
        "none": access_key_create(user=users.create_user(username="nobody")),
        "direct": access_key_create(user=users.create_user(username="direct"), grants=["read"]),
        "group": access_key_create(user=users.create_user(username="grouped")),
        "super": access_key_create(user=users.create_superuser(username="root", password="x")),
    }
    keys["group"].user.groups.add(reader)
    for name, issued in keys.items():
        for permission in ("sfn_read", "sfn_start_executions"):
            found = access_key_find(access_key_id=issued.access_key_id, permission=permission)
            expected = (
                get_user_model()
                .objects.get(pk=issued.user_id)
                .has_perm(f"stepfunctions.{permission}")
            )
            assert access_key_permitted(access_key=found, permission=permission) is expected, (
                name,
                permission,
            )
    assert access_key_permitted(access_key=keys["group"], permission="sfn_read")
    assert not access_key_permitted(access_key=keys["direct"], permission="sfn_start_executions")


def test_another_authentication_backend_is_asked_through_has_perm(
    client, execution, settings, transactional_db
):
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        f"{__name__}.GrantsEverything",
    ]
    ungranted = access_key_create(user=get_user_model().objects.create_user(username="plain"))
    body = json.dumps({"executionArn": execution.arn})
    response = signed_post(client, ungranted, "DescribeExecution", body)
    assert response.status_code == 200, response.content
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    response = signed_post(client, ungranted, "DescribeExecution", body)
    assert error_code(response) == "AccessDeniedException"


def test_the_history_of_an_unknown_execution_does_not_exist(client, sfn_key, execution):
    missing = execution.arn.replace(":counted", ":nope")
    for arn, code in ((missing, "ExecutionDoesNotExist"), ("nope", "InvalidArn")):
        body = json.dumps({"executionArn": arn})
        response = signed_post(client, sfn_key, "GetExecutionHistory", body)
        assert error_code(response) == code
    # A known execution's reverse page of one event: the newest only, and a token for more.
    body = json.dumps({"executionArn": execution.arn, "reverseOrder": True, "maxResults": 1})
    response = signed_post(client, sfn_key, "GetExecutionHistory", body)
    answer = json.loads(response.content)
    execution.refresh_from_db()
    assert [e["id"] for e in answer["events"]] == [execution.event_count]
    assert answer["nextToken"]


@pytest.mark.parametrize("value", ["abc", str(2**40), "-1", ""])
def test_a_forged_history_token_is_an_invalid_token(client, sfn_key, execution, value):
    token = base64.urlsafe_b64encode(f"history:{value}".encode()).decode()
    body = {"executionArn": execution.arn, "nextToken": token}
    response = signed_post(client, sfn_key, "GetExecutionHistory", json.dumps(body))
    assert error_code(response) == "InvalidToken"
    # An unknown execution is named before its token, as when it was looked up first.
    body["executionArn"] = execution.arn.replace(":counted", ":nope")
    response = signed_post(client, sfn_key, "GetExecutionHistory", json.dumps(body))
    assert error_code(response) == "ExecutionDoesNotExist"


def test_history_pages_by_token_both_ways(client, sfn_key, execution):
    def pages(reverse: bool) -> list[int]:
        ids, token = [], None
        while True:
            body = {"executionArn": execution.arn, "maxResults": 2, "reverseOrder": reverse}
            if token:
                body["nextToken"] = token
            answer = json.loads(
                signed_post(client, sfn_key, "GetExecutionHistory", json.dumps(body)).content
            )
            ids += [e["id"] for e in answer["events"]]
            token = answer.get("nextToken")
            if not token:
                return ids

    execution.refresh_from_db()
    assert pages(False) == list(range(1, execution.event_count + 1))
    assert pages(True) == list(range(execution.event_count, 0, -1))


def test_the_keys_read_is_the_kept_connections_health_check(sfn_key, transactional_db, monkeypatch):
    """A kept connection not yet checked in this request: the key's read stands in for Django's
    SELECT 1; only when it fails is the connection checked, and one found dead is replaced and
    the read made again. An error on a connection that still answers is the read's own."""
    checks, closes, failures = [], [], []
    usable = {"answer": True}
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable["answer"])
    close = connection.close
    monkeypatch.setattr(connection, "close", lambda: closes.append(1) or close())
    find = AccessKey.objects.find_with_permission

    def failing_once(**kwargs):
        if failures:
            raise OperationalError(failures.pop())
        return find(**kwargs)

    monkeypatch.setattr(AccessKey.objects, "find_with_permission", failing_once)

    def read_in_a_new_request() -> AccessKey | None:
        connection.ensure_connection()
        connection.health_check_done = False  # as close_old_connections leaves it per request
        return access_key_find(access_key_id=sfn_key.access_key_id, permission="sfn_read")

    assert connection.health_check_enabled
    assert read_in_a_new_request() == sfn_key
    assert (checks, closes) == ([], [])  # no SELECT 1 before the read
    assert connection.health_check_done  # nor at the request's next query

    failures.append("server closed the connection unexpectedly")
    usable["answer"] = False
    assert read_in_a_new_request() == sfn_key
    assert (checks, closes) == ([1], [1])

    failures.append("canceling statement due to statement timeout")
    usable["answer"] = True
    with pytest.raises(OperationalError, match="statement timeout"):
        read_in_a_new_request()
    assert (checks, closes) == ([1, 1], [1])
