"""Workflow Studio's views through Django's test client: the check endpoint, Save (a published
version with its description, refused with the state and field named, its own permission, the
admin's history), the name fixed once created, adding through the editor, revert, diff, and
Start execution opening the execution's page."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from stepfunctions import services
from stepfunctions.models import Execution, StateMachine

CHECK = "/admin/stepfunctions/statemachine/studio/check/"
ADD = "/admin/stepfunctions/statemachine/add/"


def _pass(result: str, **more) -> dict:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": result, "End": True, **more}},
    }


def _page(machine: StateMachine, tail: str = "change/") -> str:
    return f"/admin/stepfunctions/statemachine/{machine.pk}/{tail}"


def _staff(client, *codenames: str) -> User:
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="stepfunctions", codename__in=codenames)
    )
    client.force_login(user)
    return user


@pytest.fixture
def machine(db) -> StateMachine:
    return services.state_machine_create(name="Studio", definition=_pass("first"))


def test_the_check_lists_each_problem_with_its_state_and_field_and_draws_the_diagram(
    admin_client,
):
    broken = _pass("x")
    broken["States"]["P"] = {"Type": "Pass", "Next": "Missing"}
    answer = admin_client.post(CHECK, json.dumps(broken), content_type="text/plain").json()
    [problem] = answer["diagnostics"]
    assert problem["severity"] == "ERROR" and problem["code"] == "MISSING_TRANSITION_TARGET"
    assert (problem["state"], problem["field"], problem["location"]) == (
        "P",
        "Next",
        "/States/P/Next",
    )
    assert 'data-state="P"' in answer["svg"]

    catch = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Catch": [{"ErrorEquals": ["States.ALL"]}],
                "End": True,
            }
        },
    }
    [problem] = admin_client.post(CHECK, json.dumps(catch), content_type="text/plain").json()[
        "diagnostics"
    ]
    assert (problem["state"], problem["field"]) == ("T", "Catch[0].Next")

    answer = admin_client.post(CHECK, '{"StartAt": ', content_type="text/plain").json()
    assert answer["svg"] is None and answer["diagnostics"][0]["line"] == 1
    assert "not JSON" in answer["diagnostics"][0]["text"]


def test_save_publishes_a_version_with_its_description_and_records_who(admin_client, machine):
    page = admin_client.get(_page(machine))
    assert page.status_code == 200 and 'id="studio-editor"' in page.content.decode()
    answer = admin_client.post(
        _page(machine), {"definition": json.dumps(_pass("second")), "description": "Two"}
    )
    assert answer.status_code == 302
    latest = machine.latest_version
    assert (latest.number, latest.published_number, latest.description) == (2, 1, "Two")
    assert latest.definition == _pass("second")
    entry = LogEntry.objects.get(object_id=str(machine.pk))
    assert entry.user.username == "admin" and "Published version 1" in entry.get_change_message()
    # The same definition again is no new version.
    admin_client.post(_page(machine), {"definition": json.dumps(_pass("second"))})
    assert machine.versions.count() == 2 and LogEntry.objects.count() == 1


def test_a_refused_save_names_the_state_and_field_and_changes_nothing(admin_client, machine):
    broken = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}
    page = admin_client.post(_page(machine), {"definition": json.dumps(broken)})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="studio-refused"' in html
    assert "State &quot;P&quot;: field &quot;Next&quot;" in html
    assert machine.versions.count() == 1 and LogEntry.objects.count() == 0


def test_saving_needs_its_own_permission(client, machine):
    _staff(client, "view_statemachine", "change_statemachine")
    page = client.get(_page(machine))
    assert page.status_code == 200 and 'id="studio-no-publish"' in page.content.decode()
    refused = client.post(_page(machine), {"definition": json.dumps(_pass("second"))})
    assert refused.status_code == 403 and machine.versions.count() == 1
    revert = client.post(_page(machine, "studio/revert/"), {"revision": "1"})
    assert revert.status_code == 403

    user = User.objects.get(username="editor")
    user.user_permissions.add(Permission.objects.get(codename="publish_state_machine"))
    client.force_login(user)
    assert (
        client.post(_page(machine), {"definition": json.dumps(_pass("second"))}).status_code == 302
    )
    assert machine.latest_version.published_number == 1


def test_the_check_needs_a_permission_on_state_machines(client, db):
    user = _staff(client)
    assert client.post(CHECK, "{}", content_type="text/plain").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_statemachine"))
    assert client.post(CHECK, "{}", content_type="text/plain").status_code == 200


def test_the_name_is_fixed_once_created(admin_client, machine):
    admin_client.post(_page(machine), {"name": "Renamed", "definition": json.dumps(_pass("first"))})
    assert StateMachine.objects.get(pk=machine.pk).name == "Studio"
    html = admin_client.get(_page(machine)).content.decode()
    assert 'name="name"' not in html


def test_adding_goes_through_the_editor_with_a_valid_definition(admin_client):
    page = admin_client.get(ADD)
    assert page.status_code == 200 and 'id="studio-name"' in page.content.decode()
    refused = admin_client.post(
        ADD, {"name": "New", "definition": '{"StartAt": "X", "States": {}}'}
    )
    assert 'id="studio-refused"' in refused.content.decode()
    assert not StateMachine.objects.filter(name="New").exists()
    made = admin_client.post(
        ADD, {"name": "New", "definition": json.dumps(_pass("a")), "description": "First"}
    )
    machine = StateMachine.objects.get(name="New")
    assert made.status_code == 302 and made["Location"] == _page(machine)
    assert machine.latest_version.published_number == 1
    assert LogEntry.objects.get(object_id=str(machine.pk)).is_addition()


def test_revert_makes_an_earlier_revision_current_as_a_new_version_and_diff_compares(
    admin_client, machine
):
    admin_client.post(_page(machine), {"definition": json.dumps(_pass("second"))})
    answer = admin_client.post(_page(machine, "studio/revert/"), {"revision": "1"})
    assert answer.status_code == 302
    latest = machine.latest_version
    assert (latest.number, latest.published_number) == (3, 2)
    assert latest.definition == _pass("first")
    assert latest.description == "Revision 1 made current again"
    diff = admin_client.get(_page(machine, "studio/diff/") + "?old=1&new=2").content.decode()
    assert "--- revision 1" in diff and "+++ revision 2" in diff
    assert "-      &quot;Result&quot;: &quot;first&quot;" in diff
    assert "+      &quot;Result&quot;: &quot;second&quot;" in diff
    page = admin_client.get(_page(machine)).content.decode()
    assert 'id="studio-revert-2"' in page and 'id="studio-revert-3"' not in page


def test_start_execution_opens_the_executions_page(admin_client, machine, inline_stages):
    answer = admin_client.post(_page(machine, "studio/start/"), {"input": '{"a": 1}'})
    execution = Execution.objects.get(state_machine=machine)
    assert answer["Location"] == f"/admin/stepfunctions/execution/{execution.pk}/change/"
    assert execution.input == {"a": 1}
    bad = admin_client.post(_page(machine, "studio/start/"), {"input": "{"})
    assert bad["Location"] == _page(machine) and Execution.objects.count() == 1
