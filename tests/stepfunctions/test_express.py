"""Express workflows in the services (stepfunctions.services.express): a synchronous run ends
within its start with no history kept (but what its logging level keeps), refused definitions,
the 5-minute bound, an asynchronous Express run through the ordinary stages."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stepfunctions import resources, services
from stepfunctions.errors import InvalidDefinition, StateMachineTypeNotSupported
from stepfunctions.models import Execution, HistoryEvent, StateMachine
from stepfunctions.services.activities import activity_create
from stepfunctions.services.express import (
    express_sync_start,
    express_sync_wait,
    express_sync_wait_async,
)
from tests.conftest import wait_for

TASK = "arn:aws:states:::lambda:invoke"


@resources.lambda_function("ExpressDouble")
def _double(payload, invocation) -> dict:
    return {"n": payload["n"] * 2}


def small_workflow(**top) -> dict:
    """A Pass, a Task and a Choice: the benchmark's workflow too."""
    return {
        **top,
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Double"},
            "Double": {
                "Type": "Task",
                "Resource": TASK,
                "Parameters": {"FunctionName": "ExpressDouble", "Payload": {"n.$": "$.n"}},
                "OutputPath": "$.Payload",
                "Next": "Big?",
            },
            "Big?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 100, "Next": "TooBig"}],
                "Default": "Done",
            },
            "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "n is over 100"},
            "Done": {"Type": "Succeed"},
        },
    }


def express(name="Fast", definition=None, **options) -> StateMachine:
    return services.state_machine_create(
        name=name, definition=definition or small_workflow(), type="EXPRESS", **options
    )


def test_a_sync_run_ends_within_its_start_and_keeps_no_history(transactional_db):
    machine = express()
    with CaptureQueriesContext(connection) as queries:
        run = express_sync_start(state_machine=machine, input='{"n": 21}', name="r1")
    assert (run.status, run.output) == ("SUCCEEDED", {"n": 42})
    assert (
        run.arn.startswith("arn:aws:states:us-east-1:123456789012:express:Fast:r1:")
        and run.api_name == "r1"
    )
    assert not HistoryEvent.objects.exists()
    # No history rows, no Celery message, no row lock, no read: the version, then the run's
    # one INSERT in a transaction (and the definition, parsed once per process).
    assert len(queries) <= 5, [q["sql"] for q in queries]
    failed = express_sync_start(state_machine=machine, input='{"n": 51}', name="r1")
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "TooBig", "n is over 100")
    assert failed.arn != run.arn  # Express runs may share a name


def test_the_logging_level_keeps_what_aws_would_log(transactional_db):
    fatal = express("Fatal", log_level="FATAL")
    express_sync_start(state_machine=fatal, input='{"n": 51}')
    assert list(HistoryEvent.objects.values_list("type", flat=True)) == ["ExecutionFailed"]
    HistoryEvent.objects.all().delete()
    every = express("Every", log_level="ALL")
    run = express_sync_start(state_machine=every, input='{"n": 1}')
    types = list(run.history.values_list("type", flat=True))
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert len(types) == run.__class__.objects.get(pk=run.pk).event_count


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Express state machine does not support '.sync' service integration at "
            "/States/Parallel/Branches/0/States/Call/Resource",
        ),
        (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration  "
            "at /States/Parallel/Branches/0/States/Call/Resource",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:activity:resize",
            "Express state machine does not support Activity ARN at "
            "/States/Parallel/Branches/0/States/Call/Resource",
        ),
    ],
)
def test_what_express_cannot_run_is_refused_as_aws_words_it(transactional_db, resource, message):
    definition = {
        "StartAt": "Parallel",
        "States": {
            "Parallel": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "Call",
                        "States": {"Call": {"Type": "Task", "Resource": resource, "End": True}},
                    }
                ],
            }
        },
    }
    if "activity" in resource:
        activity_create(name="resize")
    with pytest.raises(InvalidDefinition) as refused:
        express(definition=definition)
    assert refused.value.message == (
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {message}'"
    )
    # A STANDARD machine takes it; updating an EXPRESS one to it is refused the same way.
    services.state_machine_create(name="Standard", definition=definition)
    with pytest.raises(InvalidDefinition):
        services.state_machine_update(state_machine=express(), definition=definition)


def test_a_standard_machine_has_no_sync_runs(transactional_db):
    machine = services.state_machine_create(name="Slow", definition=small_workflow())
    with pytest.raises(StateMachineTypeNotSupported):
        express_sync_start(state_machine=machine, input='{"n": 1}')
    assert not Execution.objects.exists()


WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}


def test_a_sync_run_past_its_timeout_answers_timed_out(transactional_db):
    machine = express(definition={**WAITING, "TimeoutSeconds": 1})
    started = time.monotonic()
    run = express_sync_start(state_machine=machine)
    assert run.status == "RUNNING"  # waiting, its next stage due in 30 s
    ended = express_sync_wait(execution=run)
    assert (ended.status, ended.error) == ("TIMED_OUT", "States.Timeout")
    assert 1 <= time.monotonic() - started < 5


def test_express_runs_live_at_most_the_express_limit(transactional_db, settings):
    settings.SFN_EXPRESS_MAX_SECONDS = 1  # AWS's 5 minutes, shortened
    run = express_sync_start(state_machine=express(definition=WAITING))
    assert (run.timeout_at - run.start_date).total_seconds() == 1

    # On a loop of its own thread: a session's browser (Playwright's sync API) may hold this one's.
    with ThreadPoolExecutor(1) as loop_thread:
        wait = express_sync_wait_async(execution=run)
        ended = loop_thread.submit(asyncio.run, wait).result()
    assert ended.status == "TIMED_OUT" and ended.stop_date is not None


def test_an_express_run_started_asynchronously_goes_through_the_stages(inline_stages):
    machine = express()
    run, created = services.execution_start(state_machine=machine, input={"n": 2})
    assert created and ":express:Fast:" in run.arn
    done = wait_for(
        lambda: Execution.objects.filter(pk=run.pk, status="SUCCEEDED").first(),
        message="the express run",
    )
    assert done.output == {"n": 4} and not HistoryEvent.objects.exists()


def test_a_first_stage_that_fails_is_run_again_the_ordinary_way(transactional_db, monkeypatch):
    """Nothing of the failed try is kept; the ordinary stage then runs the run (here to its
    end; a stage failing again ends it FAILED with States.Runtime)."""
    from stepfunctions.services import express as module

    def broken(*, execution):
        raise ValueError("a bug")

    monkeypatch.setattr(module, "execution_run_new", broken)
    run = express_sync_start(state_machine=express(), input='{"n": 2}')
    assert (run.status, run.output) == ("SUCCEEDED", {"n": 4})
    assert Execution.objects.count() == 1
