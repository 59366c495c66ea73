"""Stop from the admin's execution page: StopExecution for a staff user with the permission, a
confirmation first, the execution ABORTED with its callbacks refused, and who did it recorded."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from stepfunctions import services
from stepfunctions.errors import TaskTimedOut
from stepfunctions.models import Execution
from tests.conftest import open_token
from tests.stepfunctions.test_timeouts import WAIT, wait_state

DEFINITION = {"StartAt": WAIT, "States": {WAIT: wait_state(End=True)}}


@pytest.fixture
def waiting(inline_stages) -> Execution:
    machine = services.state_machine_create(name="AdminStop", definition=DEFINITION)
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    assert execution.status == Execution.Status.RUNNING
    return execution


def _staff(client, *codenames: str) -> User:
    user = User.objects.create_user("manager", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="stepfunctions", codename__in=codenames)
    )
    client.force_login(user)
    return user


def _page(execution: Execution) -> str:
    return f"/admin/stepfunctions/execution/{execution.pk}/change/"


def _stop(execution: Execution) -> str:
    return f"/admin/stepfunctions/execution/{execution.pk}/stop/"


def test_stop_asks_first_then_aborts_the_execution_and_refuses_its_callback(waiting, client):
    user = _staff(client, "view_execution", "stop_execution")
    token = open_token(waiting, WAIT)
    page = client.get(_page(waiting))
    assert _stop(waiting).encode() in page.content

    asked = client.get(_stop(waiting))
    assert asked.status_code == 200
    assert b"Yes, stop it" in asked.content
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.RUNNING

    done = client.post(_stop(waiting), {"error": "Manager", "cause": "Out of milk"})
    assert done.status_code == 302 and done["Location"] == _page(waiting)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error, waiting.cause) == ("ABORTED", "Manager", "Out of milk")
    aborted = waiting.history.get(type="ExecutionAborted")
    assert aborted.details["error"] == "Manager"
    with pytest.raises(TaskTimedOut):
        services.task_success(task_token=token, output="{}")
    logged = LogEntry.objects.get(object_id=str(waiting.pk))
    assert (logged.user, logged.change_message) == (user, "Stopped (StopExecution).")
    # An ended execution offers no Stop.
    assert _stop(waiting).encode() not in client.get(_page(waiting)).content


def test_stop_without_error_or_cause_aborts_with_neither(waiting, client):
    _staff(client, "view_execution", "stop_execution")
    client.post(_stop(waiting), {"error": "", "cause": ""})
    waiting.refresh_from_db()
    assert waiting.status == "ABORTED"
    assert not waiting.error and not waiting.cause
    assert waiting.history.get(type="ExecutionAborted").details == {}


def test_without_the_permission_there_is_no_stop(waiting, client):
    _staff(client, "view_execution")
    assert _stop(waiting).encode() not in client.get(_page(waiting)).content
    assert client.get(_stop(waiting)).status_code == 403
    assert client.post(_stop(waiting), {}).status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.RUNNING


def test_an_ended_execution_is_left_as_it_is(waiting, client):
    _staff(client, "view_execution", "stop_execution")
    services.task_success(task_token=open_token(waiting, WAIT), output='{"done": true}')
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.SUCCEEDED
    answer = client.post(_stop(waiting), {"error": "Late"}, follow=True)
    assert b"has already ended (SUCCEEDED)" in answer.content
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error) == ("SUCCEEDED", "")


def test_an_error_longer_than_the_api_allows_is_refused_on_the_page(waiting, client):
    _staff(client, "view_execution", "stop_execution")
    answer = client.post(_stop(waiting), {"error": "E" * 257})
    assert answer.status_code == 200
    assert answer.context["form"].errors["error"]
    waiting.refresh_from_db()
    assert waiting.status == Execution.Status.RUNNING
