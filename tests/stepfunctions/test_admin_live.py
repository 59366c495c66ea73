"""The execution page follows a running execution: its live view answers the diagram with the
state it waits in, the status, the history and the output as JSON, for staff who may view it;
the page loads the script that asks it (no inline script: the CSP) only to follow a running one."""

import re

import pytest

from stepfunctions import services
from stepfunctions.models import Execution
from tests.stepfunctions.test_admin_stop import DEFINITION, _page, _staff
from tests.stepfunctions.test_timeouts import WAIT

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(inline_stages) -> Execution:
    machine = services.state_machine_create(name="AdminLive", definition=DEFINITION)
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    assert execution.status == Execution.Status.RUNNING
    return execution


def _live(execution: Execution) -> str:
    return f"/admin/stepfunctions/execution/{execution.pk}/live/"


def test_the_live_view_follows_the_execution_to_its_end(waiting, client):
    _staff(client, "view_execution")
    page = client.get(_page(waiting)).content.decode()
    assert f"data-live='{_live(waiting)}'" in page and "data-status='RUNNING'" in page
    assert "stepfunctions/execution_live.js" in page
    assert "id='execution-live'" in page

    running = client.get(_live(waiting)).json()
    assert running["running"] is True and running["status_display"] == "Running"
    assert re.search(r'<g class="[^"]*current[^"]*" data-state="' + WAIT, running["diagram"])
    assert "ExecutionStarted" in running["history"] and running["output"] == "–"

    services.execution_stop(execution=waiting, error="Manager", cause=None)
    ended = client.get(_live(waiting)).json()
    assert (ended["running"], ended["status"]) == (False, "ABORTED")
    assert "current" not in ended["diagram"] and "ExecutionAborted" in ended["history"]
    # An ended execution's page does not follow it.
    page = client.get(_page(waiting)).content.decode()
    assert "data-status='ABORTED'" in page and "id='execution-live'" not in page


def test_the_live_view_is_for_staff_who_may_view_executions(waiting, client):
    _staff(client)
    assert client.get(_live(waiting)).status_code == 403
