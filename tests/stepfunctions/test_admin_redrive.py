"""Redrive from the admin's execution page: RedriveExecution for a staff user with the
permission, offered only while the execution can be redriven, a confirmation first, and who did
it recorded."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry

from stepfunctions import services
from stepfunctions.models import Execution
from tests.stepfunctions.test_admin_stop import _page, _staff
from tests.stepfunctions.test_redrive import CHAIN, broken, calls


@pytest.fixture
def failed(inline_stages) -> Execution:
    calls.clear()
    broken.clear()
    broken.add("second")
    machine = services.state_machine_create(name="AdminRedrive", definition=CHAIN)
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    yield execution
    broken.clear()


def _redrive(execution: Execution) -> str:
    return f"/admin/stepfunctions/execution/{execution.pk}/redrive/"


def test_redrive_asks_first_then_runs_the_failed_state_again(failed, client):
    user = _staff(client, "view_execution", "redrive_execution")
    assert _redrive(failed).encode() in client.get(_page(failed)).content

    asked = client.get(_redrive(failed))
    assert asked.status_code == 200 and b"Yes, redrive it" in asked.content
    failed.refresh_from_db()
    assert failed.status == Execution.Status.FAILED

    broken.clear()
    done = client.post(_redrive(failed))
    assert done.status_code == 302 and done["Location"] == _page(failed)
    failed.refresh_from_db()
    assert (failed.status, failed.redrive_count) == ("SUCCEEDED", 1)
    assert calls == {"first": 1, "second": 2}
    logged = LogEntry.objects.get(object_id=str(failed.pk))
    assert (logged.user, logged.change_message) == (user, "Redriven (RedriveExecution).")
    # A succeeded execution offers no Redrive; a late POST is refused with AWS's reason.
    assert _redrive(failed).encode() not in client.get(_page(failed)).content
    again = client.post(_redrive(failed), follow=True)
    assert b"SUCCEEDED and cannot be redriven" in again.content
    failed.refresh_from_db()
    assert failed.redrive_count == 1


def test_no_redrive_past_the_redrivable_period(failed, client):
    _staff(client, "view_execution", "redrive_execution")
    ago = failed.stop_date - timedelta(days=15)
    Execution.objects.filter(pk=failed.pk).update(start_date=ago, stop_date=ago)
    assert _redrive(failed).encode() not in client.get(_page(failed)).content
    assert b"redrivable period exceeded" in client.get(_redrive(failed)).content


def test_without_the_permission_there_is_no_redrive(failed, client):
    _staff(client, "view_execution", "stop_execution")
    assert _redrive(failed).encode() not in client.get(_page(failed)).content
    assert client.get(_redrive(failed)).status_code == 403
    assert client.post(_redrive(failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.redrive_count == 0
