"""Log lines: a stage's and a callback's carry the execution's id and name and the order id and
never the token; the routine sweeps stay quiet unless they did something; production processes log JSON.
"""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.services.order_processor import CUSTOMER_WAIT
from serverlesspresso.operations.logs import (
    ROUTINE_TASKS,
    JsonFormatter,
    RoutineTaskFilter,
    TextFormatter,
    token_ref,
)
from stepfunctions import services
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import open_token, wait_for
from tests.processes import private_redis, production_processes

ORDER_INPUT = {"detail": {"orderId": "log-7", "userId": "u"}}
# As the coffee bar names an order's execution (orders.services.orders): the lines name the order.
ORDER_NAME = "order-log-7"


def _json_lines(records: list[logging.LogRecord]) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in records]


def test_stage_and_callback_lines_carry_ids_and_no_token(inline_stages, order_processor, caplog):
    caplog.set_level(logging.INFO)
    execution, _ = services.execution_start(
        state_machine=order_processor, input=ORDER_INPUT, name=ORDER_NAME
    )
    token = open_token(execution, CUSTOMER_WAIT)
    services.task_success(task_token=token, output='{"orderId": "log-7"}')
    with pytest.raises(Exception, match="Task Timed Out"):
        services.task_success(task_token=token, output="{}")

    lines = _json_lines(caplog.records)
    everything = "\n".join(json.dumps(line) for line in lines)
    assert token not in everything
    stages = [line for line in lines if line["message"].startswith("Stage ran")]
    assert len(stages) == 2
    assert stages[0]["state"] == CUSTOMER_WAIT and stages[0]["outcome"] == "Waiting"
    callbacks = [line for line in lines if line["logger"] == "stepfunctions.callbacks"]
    accepted, refused = callbacks
    for line in stages + [accepted]:
        assert line["execution_id"] == str(execution.pk)
        assert line["execution_name"] == ORDER_NAME
        assert line["order_id"] == "log-7"
    assert accepted["outcome"] == "accepted" and accepted["state"] == CUSTOMER_WAIT
    assert accepted["token_ref"] == token_ref(token) == refused["token_ref"]
    assert refused["outcome"] == "TaskTimedOut" and refused["level"] == "INFO"


def test_text_format_shows_the_same_fields():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "Stage ran: %s", ("Waiting",), None)
    record.execution_id, record.order_id = "e-1", "o-1"
    line = TextFormatter().format(record)
    assert line.endswith("INFO x: Stage ran: Waiting execution_id=e-1 order_id=o-1")


@pytest.mark.parametrize(
    ("logger", "level", "message", "kept"),
    [
        (
            "celery.beat",
            logging.INFO,
            "Scheduler: Sending due task x (stepfunctions.tasks.expire_tokens)",
            False,
        ),
        (
            "celery.app.trace",
            logging.INFO,
            "Task stepfunctions.tasks.recover_stalled[1] succeeded in 0.01s: 0",
            False,
        ),
        (
            "celery.worker.strategy",
            logging.INFO,
            "Task stepfunctions.tasks.expire_tokens[1] received",
            False,
        ),
        (
            "celery.app.trace",
            logging.INFO,
            "Task stepfunctions.tasks.advance_execution[1] succeeded",
            True,
        ),
        (
            "celery.app.trace",
            logging.ERROR,
            "Task stepfunctions.tasks.expire_tokens[1] raised",
            True,
        ),
        (
            "stepfunctions.services.retention",
            logging.INFO,
            "Purged 3 stepfunctions.tasks.expire_tokens",
            True,
        ),
    ],
)
def test_routine_sweep_lines_are_dropped_but_not_their_failures(logger, level, message, kept):
    record = logging.LogRecord(logger, level, __file__, 1, message, (), None)
    assert RoutineTaskFilter().filter(record) is kept


def test_every_task_beat_runs_is_routine(settings):
    # An idle system logs nothing at INFO: beat's sweeps run every second or two.
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(ROUTINE_TASKS), scheduled - set(ROUTINE_TASKS)


@pytest.mark.integration
def test_production_worker_logs_json_and_the_sweep_only_when_it_expired(
    inline_stages, order_processor, tmp_path
):
    execution, _ = services.execution_start(
        state_machine=order_processor, input=ORDER_INPUT, name=ORDER_NAME
    )
    token = open_token(execution, CUSTOMER_WAIT)
    past = timezone.now() - timedelta(seconds=5)
    CallbackToken.objects.filter(token=token).update(deadline=past, heartbeat_deadline=past)

    env = {"LOG_FORMAT": "json", "WORKFLOW_SWEEP_SECONDS": "0.3"}
    with private_redis() as url, production_processes(url, tmp_path, **env) as processes:
        processes.worker()
        processes.beat()
        wait_for(
            lambda: Execution.objects.get(pk=execution.pk).status != Execution.Status.RUNNING,
            timeout=60, interval=0.2, message="the sweep to time the order out",
        )  # fmt: skip
        worker_log, beat_log = processes.log("worker"), processes.log("beat")

    assert token not in worker_log and token not in beat_log
    lines = [json.loads(line) for line in worker_log.splitlines() if line.startswith("{")]
    assert lines, worker_log
    expired = [line for line in lines if line["message"] == "Expired 1 callback tokens"]
    assert len(expired) == 1 and expired[0]["count"] == 1
    resumed = [line for line in lines if line["message"].startswith("Stage ran")]
    assert resumed and all(line["order_id"] == "log-7" for line in resumed)
    assert all(line["execution_id"] == str(execution.pk) for line in resumed)
    assert all(line["execution_name"] == ORDER_NAME for line in resumed)
    # The sweep that expired the token says so once; Celery's own lines for the sweeps (sent,
    # received, succeeded, every 0.3 s here) are gone from both processes' JSON lines.
    beat_lines = [line for line in beat_log.splitlines() if line.startswith("{")]
    assert any("beat: Starting" in line for line in beat_lines), beat_log
    for line in lines + [json.loads(line) for line in beat_lines]:
        assert not [task for task in ROUTINE_TASKS if task in line["message"]], line
