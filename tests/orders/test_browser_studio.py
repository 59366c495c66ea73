"""Workflow Studio in headless chromium: the seed's Workflow Studio walk made through the state
panels alone (no typing into the JSON), saved as a published version, then run with the seed's
test input; and a broken definition refused with its state and field named.

Here, not in tests/stepfunctions: the seed's workflow runs the coffee bar's lambda functions, and
the browser fixtures are the coffee bar's (tests/browser.py)."""

import copy
import json

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from orders.services.order_processor import order_processor_document
from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution, StateMachine
from tests.browser import (
    TABLET_LANDSCAPE,
    assert_accessible,
    assert_no_horizontal_scroll,
    mark,
    not_reloaded,
    shot,
    wait_until,
)

pytestmark = [pytest.mark.integration]

LAPTOP = (1280, 800)
NAME = "StudioOrderProcessor"
CALLBACK_STATES = ["Emit - Workflow Started TT", "Emit - Awaiting Completion TT"]
FALLBACKS = ["Customer timedout", "Customer cancelled", "Barista timedout", "Order cancelled"]
CHECKED = "document.getElementById('studio').dataset.checking === '0'"


def without_callbacks(seed: dict) -> dict:
    """The seed's workflow before its Workflow Studio walk: no callback states, no fallbacks."""
    doc = copy.deepcopy(seed)
    for name in CALLBACK_STATES + FALLBACKS:
        del doc["States"][name]
    doc["States"]["Is capacity available?"]["Choices"][0]["Next"] = "Generate Order Number"
    doc["States"]["Generate Order Number"]["Next"] = "Emit - Order Finished"
    return doc


def staff(bar, size):
    User.objects.create_superuser("studio", password="pw-studio-123")
    page = bar.page(size)
    page.goto(f"{bar.url}/admin/login/?next=/admin/")
    bar.login(page, "studio")
    return page


def field(page, selector: str, value: str) -> None:
    """Types into a panel field and leaves it with Tab, as a person does."""
    page.fill(selector, value)
    page.press(selector, "Tab")
    wait_until(page, CHECKED)


def insert(page, where: str, kind: str, name: str, resource: str | None = None) -> None:
    page.select_option("#studio-insert-where", label=where)
    page.select_option("#studio-insert-type", kind)
    if resource:
        page.select_option("#studio-insert-resource", resource)
    page.fill("#studio-insert-name", name)
    page.click("#studio-insert-button")
    wait_until(page, f"document.getElementById('sf-name')?.value === {json.dumps(name)}")


def tab(page, key: str) -> None:
    page.click(f"#studio-tab-{key}")


def callback_state(page, seed: dict, name: str, between: tuple[str, str]) -> None:
    """The seed's EventBridge PutEvents step with its callback, catchers and heartbeat."""
    target = seed["States"][name]
    insert(
        page,
        f"Between “{between[0]}” and “{between[1]}”",
        "Task",
        name,
        resource="arn:aws:states:::events:putEvents",
    )
    page.check("#sf-callback")
    wait_until(page, CHECKED)
    field(page, "#sf-parameters", json.dumps(target["Parameters"], indent=2))
    tab(page, "io")
    if target["ResultPath"] is None:
        page.select_option("#sf-resultpath-choice", label="Discard result and keep original input")
    else:
        page.select_option("#sf-resultpath-choice", label="Combine original input with result")
        field(page, "#sf-resultpath", target["ResultPath"])
    tab(page, "errors")
    field(page, "#sf-heartbeat", str(target["HeartbeatSeconds"]))
    for i, catcher in enumerate(target["Catch"]):
        fallback = catcher["Next"]
        insert(page, f"As a new Catch fallback of “{name}”", "Pass", fallback)
        pass_state = seed["States"][fallback]
        field(page, "#sf-result", json.dumps(pass_state["Result"]))
        page.select_option("#sf-next", pass_state["Next"])
        wait_until(page, CHECKED)
        tab(page, "io")
        page.select_option("#sf-resultpath-choice", label="Combine original input with result")
        field(page, "#sf-resultpath", pass_state["ResultPath"])
        # Back to the callback state, by keyboard from the diagram.
        page.focus(f"#studio-diagram g[data-state={json.dumps(name)}]")
        page.keyboard.press("Enter")
        tab(page, "errors")
        field(page, f"#sf-catch-{i}-comment", catcher["Comment"])
        field(page, f"#sf-catch-{i}-errors", ", ".join(catcher["ErrorEquals"]))
        field(page, f"#sf-catch-{i}-resultpath", catcher["ResultPath"])


def test_the_seed_walk_through_the_panels_publishes_the_seed_workflow_and_runs(bar):
    seed = order_processor_document()
    machine = services.state_machine_create(name=NAME, definition=without_callbacks(seed))
    page = staff(bar, LAPTOP)
    page.goto(f"{bar.url}/admin/stepfunctions/statemachine/{machine.pk}/change/")
    page.wait_for_selector("#studio-editor .ace_content")
    wait_until(page, CHECKED)
    assert page.locator("#studio-name").count() == 0  # the name is not a field
    callback_state(
        page, seed, CALLBACK_STATES[0], ("Is capacity available?", "Generate Order Number")
    )
    callback_state(
        page, seed, CALLBACK_STATES[1], ("Generate Order Number", "Emit - Order Finished")
    )
    assert page.inner_text("#studio-diagnostics") == "No problems: the definition can be saved."
    assert page.locator("#studio-diagram g[data-state='Barista timedout']").count() == 1
    assert_no_horizontal_scroll(page)
    page.evaluate("document.getElementById('studio').scrollIntoView()")
    shot(page, "workflow-studio")
    assert_accessible(page, "Workflow Studio with a state's panel open", preload=False)

    page.fill("#studio-description", "The seed's callbacks")
    with page.expect_navigation():
        page.click("#studio-save-button")
    latest = StateMachine.objects.get(pk=machine.pk).latest_version
    assert latest.published_number == 1 and latest.description == "The seed's callbacks"
    assert latest.definition["States"].keys() == seed["States"].keys()
    for name, state in seed["States"].items():
        assert latest.definition["States"][name] == state, name
    assert latest.definition == seed

    # The seed's test: start with its input, the execution's page shows it wait for the callback.
    page.fill("#studio-input", json.dumps({"detail": {"orderId": "1", "userId": "testuser"}}))
    with page.expect_navigation():
        page.click("#studio-start-button")
    execution = Execution.objects.get(state_machine=machine)
    assert execution.version_id == latest.pk
    assert f"/admin/stepfunctions/execution/{execution.pk}/change/" in page.url
    # The page follows the execution by itself (execution_live.js), never reloaded: the path
    # taken so far and the state it waits in (blue), then its end.
    mark(page)
    for waiting in CALLBACK_STATES:
        token = _open_token(execution)
        assert token.state_name == waiting
        expect(
            page.locator(f"#execution-diagram g.current[data-state={json.dumps(waiting)}]")
        ).to_have_count(1)
        services.task_success(task_token=token.token, output='{"orderId": 1}')
    _wait_ended(execution)
    expect(page.locator(".field-status .readonly")).to_have_text("Succeeded")
    expect(page.locator("#execution-live")).to_contain_text("has ended")
    expect(page.locator("#execution-diagram g.current")).to_have_count(0)
    assert page.locator("#history td", has_text="ExecutionSucceeded").count() == 1
    not_reloaded(page)
    assert "Status:\nSucceeded" in page.inner_text("#content-main")
    assert_accessible(page, "an execution's page followed live", preload=False)


def _open_token(execution):
    from tests.conftest import wait_for

    return wait_for(
        lambda: CallbackToken.objects.filter(execution=execution, status="OPEN").first(),
        message="the execution to wait for its callback",
    )


def _wait_ended(execution):
    from tests.conftest import wait_for

    wait_for(
        lambda: Execution.objects.filter(pk=execution.pk, status="SUCCEEDED").exists(),
        message="the execution to succeed",
    )


def test_a_broken_definition_is_refused_with_its_state_and_field_named(bar):
    machine = services.state_machine_create(name=NAME, definition=order_processor_document())
    page = staff(bar, TABLET_LANDSCAPE)
    change = f"{bar.url}/admin/stepfunctions/statemachine/{machine.pk}/change/"
    page.goto(change)
    page.wait_for_selector("#studio-editor .ace_content")
    # The JSON drives the panel and the diagram: a heartbeat changed in the editor.
    page.evaluate(
        """() => { const editor = ace.edit("studio-editor");
        const at = editor.find('"HeartbeatSeconds": 900');
        editor.session.replace(at, '"HeartbeatSeconds": 600'); }"""
    )
    page.select_option("#studio-state", "Emit - Workflow Started TT")
    tab(page, "errors")
    assert page.input_value("#sf-heartbeat") == "600"
    # A Pass state deleted: the arrows to it go to its Next, and the diagram loses it.
    page.select_option("#studio-state", "Customer cancelled")
    page.click("#sf-delete")
    wait_until(page, CHECKED)
    assert page.locator("#studio-diagram g[data-state='Customer cancelled']").count() == 0
    document = json.loads(page.evaluate("ace.edit('studio-editor').getValue()"))
    catch = document["States"]["Emit - Workflow Started TT"]["Catch"][1]
    assert catch["Next"] == "Emit - Order Cancelled"
    # A Next to a missing state: a Choice deleted has no one arrow to reconnect.
    page.select_option("#studio-state", "Shop Open?")
    page.click("#sf-delete")
    wait_until(page, CHECKED)
    assert 'State "Get Shop Status": field "Next"' in page.inner_text("#studio-diagnostics")
    # Marked at its line in the editor's gutter ("Next": "Shop Open?" of Get Shop Status),
    # where the problem's line link takes the keyboard.
    page.click("#studio-diagnostics .studio-error .studio-goto")
    marked = """Array.from(document.querySelectorAll('#studio-editor .ace_gutter-cell'))
        .filter((cell) => cell.matches('.ace_error') || cell.querySelector('.ace_error'))
        .map((cell) => cell.textContent.trim())"""
    # Ace draws the gutter on its next frame, after scrolling to the line.
    wait_until(page, f"{marked}.length > 0")
    [line] = page.evaluate(marked)
    text = page.evaluate("ace.edit('studio-editor').getValue()").splitlines()
    assert '"Next": "Shop Open?"' in text[int(line) - 1]
    assert_no_horizontal_scroll(page)
    assert_accessible(page, "Workflow Studio at 1024x768 with an error listed", preload=False)
    with page.expect_navigation():
        page.click("#studio-save-button")
    refused = page.inner_text("#studio-refused")
    assert "Not saved" in refused and 'State "Get Shop Status": field "Next"' in refused

    # A Catch without its fallback state.
    page.goto(change)
    page.wait_for_selector("#studio-editor .ace_content")
    page.select_option("#studio-state", "Emit - Workflow Started TT")
    tab(page, "errors")
    page.click("#sf-catch-add")
    wait_until(page, CHECKED)
    assert page.evaluate("document.activeElement.id") == "sf-catch-2-errors"
    with page.expect_navigation():
        page.click("#studio-save-button")
    refused = page.inner_text("#studio-refused")
    assert 'State "Emit - Workflow Started TT"' in refused and "Catch[2].Next" in refused
    assert StateMachine.objects.get(pk=machine.pk).versions.count() == 1

    # Adding goes through the same editor, with the name to give once.
    page.goto(f"{bar.url}/admin/stepfunctions/statemachine/add/")
    page.wait_for_selector("#studio-editor .ace_content")
    wait_until(page, CHECKED)
    assert page.locator("#studio-diagram g[data-state=Start]").count() == 1
    assert_no_horizontal_scroll(page)
    assert_accessible(page, "adding a state machine in Workflow Studio")
    page.fill("#studio-name", "Added")
    page.fill("#studio-description", "The first")
    with page.expect_navigation():
        page.click("#studio-save-button")
    added = StateMachine.objects.get(name="Added")
    assert page.url.endswith(f"/admin/stepfunctions/statemachine/{added.pk}/change/")
    assert added.latest_version.published_number == 1


def test_an_execution_page_follows_its_execution_to_a_failure_on_a_tablet(bar):
    """The page opened while the execution waits shows the state it waits in; when it fails, the
    page shows it failed there (red), its status and history, and drops Stop, never reloaded."""
    from tests.stepfunctions.test_timeouts import WAIT, wait_state

    machine = services.state_machine_create(
        name="LiveFollowed", definition={"StartAt": WAIT, "States": {WAIT: wait_state(End=True)}}
    )
    execution, _ = services.execution_start(state_machine=machine, input={"n": 1})
    token = _open_token(execution)
    page = staff(bar, TABLET_LANDSCAPE)
    page.goto(f"{bar.url}/admin/stepfunctions/execution/{execution.pk}/change/")
    state = f"#execution-diagram g[data-state={json.dumps(WAIT)}]"
    expect(page.locator(f"{state}.current")).to_have_count(1)
    expect(page.locator("#execution-live")).to_have_text("Following the execution live.")
    assert page.locator("#stop-execution-link").count() == 1
    mark(page)
    services.task_failure(task_token=token.token, error="Barista.Gone", cause="Left early")
    expect(page.locator(".field-status .readonly")).to_have_text("Failed")
    expect(page.locator(f"{state}.failed")).to_have_count(1)
    expect(page.locator("#history td", has_text="ExecutionFailed")).to_have_count(1)
    expect(page.locator("#stop-execution-link")).to_have_count(0)
    not_reloaded(page)
    assert_no_horizontal_scroll(page)
    assert_accessible(page, "an execution's page that followed it to its failure", preload=False)


def test_retry_rules_are_edited_as_a_form_per_rule(bar):
    """Error handling's Retry as a form per rule (errors, interval, attempts, backoff), added and
    removed like catchers; the JSON follows, and a rule's other fields are kept."""
    machine = services.state_machine_create(name=NAME, definition=order_processor_document())
    page = staff(bar, TABLET_LANDSCAPE)
    page.goto(f"{bar.url}/admin/stepfunctions/statemachine/{machine.pk}/change/")
    page.wait_for_selector("#studio-editor .ace_content")
    wait_until(page, CHECKED)
    page.select_option("#studio-state", "Generate Order Number")
    tab(page, "errors")
    for i in range(2):
        page.click("#sf-retry-add")
        wait_until(page, CHECKED)
        assert page.evaluate("document.activeElement.id") == f"sf-retry-{i}-errors"
    field(page, "#sf-retry-0-errors", "States.TaskFailed, Lambda.ServiceException")
    field(page, "#sf-retry-0-intervalseconds", "2")
    field(page, "#sf-retry-0-maxattempts", "5")
    field(page, "#sf-retry-0-backoffrate", "1.5")
    field(page, "#sf-retry-1-maxattempts", "0")
    assert_no_horizontal_scroll(page)
    assert_accessible(page, "Workflow Studio's Retry rules as forms", preload=False)

    def retry():
        document = json.loads(page.evaluate("ace.edit('studio-editor').getValue()"))
        return document["States"]["Generate Order Number"].get("Retry")

    assert retry() == [
        {
            "ErrorEquals": ["States.TaskFailed", "Lambda.ServiceException"],
            "IntervalSeconds": 2,
            "MaxAttempts": 5,
            "BackoffRate": 1.5,
        },
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0},
    ]
    page.click("#sf-retry-0-remove")
    wait_until(page, CHECKED)
    assert retry() == [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]
    assert page.input_value("#sf-retry-0-maxattempts") == "0"
    page.click("#sf-retry-0-remove")
    wait_until(page, CHECKED)
    assert retry() is None
    assert page.evaluate("document.activeElement.id") == "sf-retry-add"
