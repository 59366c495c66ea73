"""The state machine's admin page: its revisions with their diffs, published versions, aliases
with their routing, and tags."""

import re

from stepfunctions import services
from stepfunctions.services import tags, versions


def _pass(result: str) -> dict:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


def test_the_admin_shows_versions_with_diffs_aliases_and_tags(admin_client):
    machine = services.state_machine_create(
        name="Shown", definition=_pass("first"), tags=[{"key": "team", "value": "bar"}]
    )
    services.version_publish(state_machine=machine, description="the first")
    services.state_machine_update(state_machine=machine, definition=_pass("second"))
    services.version_publish(state_machine=machine)
    routing = [
        {"stateMachineVersionArn": f"{machine.arn}:1", "weight": 25},
        {"stateMachineVersionArn": f"{machine.arn}:2", "weight": 75},
    ]
    versions.alias_create(state_machine=machine, name="prod", routing=routing)
    tags.tags_add(resource_arn=machine.arn, tags=[{"key": "env", "value": "live"}])

    page = admin_client.get(f"/admin/stepfunctions/statemachine/{machine.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "version 1" in html and "version 2" in html and "the first" in html
    assert "--- revision 1" in html and "+++ revision 2" in html
    # (PostgreSQL's jsonb orders the keys its own way: the line may or may not end with a comma.)
    assert re.search(r"^- +&quot;Result&quot;: &quot;first&quot;,?$", html, re.MULTILINE)
    assert re.search(r"^\+ +&quot;Result&quot;: &quot;second&quot;,?$", html, re.MULTILINE)
    assert "version 1: 25%, version 2: 75%" in html
    assert "<td>team</td><td>bar</td>" in html and "<td>env</td><td>live</td>" in html
