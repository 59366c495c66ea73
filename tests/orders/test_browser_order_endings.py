"""Every way an order can end reaches every open screen live: the customer's order page, the
barista queue and the display board, without a reload, when the order's execution ends outside
the coffee bar's own path (StopExecution through the API with boto3 or the aws CLI, Stop on the
engine's admin page, an uncaught failure, the execution's TimeoutSeconds, DeleteStateMachine), as
they do for the workflow's own ends.

Headless Chromium against the live server and the real worker; each page is marked before the
ending, and the mark must still be there after it.
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT
from orders.services.shop_config import shop_config_update
from stepfunctions.models import Execution
from stepfunctions.tasks import time_out_executions
from tests.browser import LIVE, assert_accessible, choose_latte, live, mark, not_reloaded, order_of
from tests.conftest import aws_cli, open_token, wait_for

pytestmark = [pytest.mark.integration]


@pytest.fixture
def screens(bar, fresh_qr_window):
    """A customer's order waiting for a barista, open on the customer's page, a barista's queue
    and the display board, each live and marked."""
    shop_config_update(changes={"qr_code_required": False}, by="test")
    customer = bar.customer("alice")
    customer.click("#start-order")
    choose_latte(customer)
    customer.wait_for_selector("#order-status:text('Waiting for a barista')")
    order = wait_for(
        lambda: Order.objects.filter(pk=order_of("alice").pk, workflow_state=BARISTA_WAIT)
        .exclude(order_number=None)
        .first(),
        message="alice's order to wait for a barista",
    )
    barista = bar.barista("bob")
    barista.wait_for_selector(f"[data-order='{order.order_id}']")
    board = bar.barista("display")
    board.goto(f"{bar.url}/display/")
    board.wait_for_selector(f"#upcoming li:text-is('{order.order_number}')")
    pages = (customer, barista, board)
    for page in pages:
        live(page)
        mark(page)
    return order, pages


def _shown_ended(order: Order, pages, status: str) -> None:
    """Each screen shows the order's end live: the customer reads `status`, the queue drops its
    card, the board its number."""
    customer, barista, board = pages
    customer.wait_for_selector(f"#order-status:text('{status}')", timeout=LIVE)
    assert customer.locator("#cancel-order").count() == 0
    barista.wait_for_selector(f"[data-order='{order.order_id}']", state="detached", timeout=LIVE)
    board.wait_for_selector(
        f"#upcoming li:text-is('{order.order_number}')", state="detached", timeout=LIVE
    )
    for page in pages:
        not_reloaded(page)
        assert_accessible(page)


@pytest.mark.parametrize("caller", ["boto3", "the aws CLI"])
def test_stop_execution_through_the_api_reaches_every_screen(
    screens, sfn, sfn_key, live_server, caller
):
    order, pages = screens
    arn = order.execution.arn
    if caller == "boto3":
        sfn.stop_execution(executionArn=arn, error="Manager", cause="Out of milk")
    else:
        done = aws_cli(live_server, sfn_key, "stop-execution", "--execution-arn", arn)
        assert done.returncode == 0, done.stderr
    _shown_ended(order, pages, "Stopped by the shop")
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_stop_from_the_engine_admin_reaches_every_screen(screens, bar):
    # A manager stops the order's execution from its page in the engine's admin.
    order, pages = screens
    User.objects.create_superuser("manager", password="pw-manager-123")
    admin = bar.page()
    admin.goto(
        f"{bar.url}/admin/login/?next=/admin/stepfunctions/execution/{order.execution_id}/change/"
    )
    bar.login(admin, "manager")
    admin.click("#stop-execution-link")
    admin.fill("textarea[name=cause]", "Out of milk")
    with admin.expect_navigation():
        admin.click("text=Yes, stop it")
    admin.wait_for_selector("text=is stopped")
    _shown_ended(order, pages, "Stopped by the shop")
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert Execution.objects.get(pk=order.execution_id).cause == "Out of milk"


def test_deleting_the_state_machine_reaches_every_screen(screens, sfn):
    order, pages = screens
    sfn.delete_state_machine(stateMachineArn=order.execution.state_machine.arn)
    _shown_ended(order, pages, "Removed")
    assert Order.objects.get(pk=order.pk).execution is None


def test_a_failed_execution_reaches_every_screen(screens, sfn):
    # An error the workflow does not catch (its Catch names OrderCancelled only) fails it.
    order, pages = screens
    token = open_token(order.execution, BARISTA_WAIT)
    sfn.send_task_failure(taskToken=token, error="Grinder.Jammed", cause="beans")
    _shown_ended(order, pages, "The order failed: Grinder.Jammed")
    assert Execution.objects.get(pk=order.execution_id).status == Execution.Status.FAILED


def test_an_execution_timeout_reaches_every_screen(screens):
    # As if the definition said TimeoutSeconds 60: the clock moves past it and beat's sweep runs.
    order, pages = screens
    execution = order.execution
    Execution.objects.filter(pk=execution.pk).update(
        timeout_at=execution.start_date + timedelta(seconds=60)
    )
    with time_machine.travel(execution.start_date + timedelta(seconds=61), tick=True):
        time_out_executions.delay()
        wait_for(
            lambda: Execution.objects.filter(
                pk=execution.pk, status=Execution.Status.TIMED_OUT
            ).exists(),
            message="the execution to time out",
        )
    _shown_ended(order, pages, "The order took too long")
    assert timezone.now() - execution.start_date < timedelta(seconds=60)
