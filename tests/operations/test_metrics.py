"""/metrics moves when an order runs: scraped from gunicorn with three processes while a real
Celery worker (prefork, other processes again) runs the stages, all sharing PROMETHEUS_MULTIPROC_DIR.

Counters recorded in one process (a callback in a gunicorn worker, a stage in a Celery pool
process) show in a scrape answered by any web process; the gauges are read at scrape time.
"""

import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from botocore.exceptions import ClientError
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT, ORDER_PROCESSOR
from stepfunctions.models import CallbackToken, Execution
from tests.conftest import sfn_client, wait_for
from tests.processes import private_redis, production_processes
from tests.stepfunctions import factories

ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{ORDER_PROCESSOR}"


def parse(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of an exposition text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str) -> dict[tuple, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(response.read().decode())


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def open_token(execution_id, state: str) -> str | None:
    return (
        CallbackToken.objects.filter(
            execution_id=execution_id, state_name=state, status=CallbackToken.Status.OPEN
        )
        .values_list("token", flat=True)
        .first()
    )


@pytest.mark.integration
def test_metrics_move_as_an_order_runs_across_processes(tmp_path, sfn_key):
    prometheus_dir = tmp_path / "prometheus"
    prometheus_dir.mkdir()
    with (
        private_redis() as redis_url,
        production_processes(
            redis_url, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(prometheus_dir)
        ) as processes,
    ):
        web = processes.gunicorn(workers=3)
        sfn = sfn_client(SimpleNamespace(url=web), sfn_key)
        before = scrape(web)
        assert value(before, "stepfunctions_celery_queue_depth", queue="celery") == 0

        # No worker yet: the first stage waits in the broker's queue.
        arn = sfn.start_execution(
            stateMachineArn=ORDER_ARN, input='{"detail": {"orderId": "m1", "userId": "u"}}'
        )["executionArn"]
        queued = scrape(web)
        assert value(queued, "stepfunctions_celery_queue_depth", queue="celery") == 1
        assert value(queued, "stepfunctions_stages_due") == 1
        assert value(queued, "stepfunctions_executions", status="RUNNING") == 1

        processes.worker()
        execution = Execution.objects.get(name=arn.rsplit(":", 1)[1])
        token = wait_for(lambda: open_token(execution.pk, CUSTOMER_WAIT), timeout=60)
        waiting = scrape(web)
        assert value(waiting, "stepfunctions_waiting_tokens", state=CUSTOMER_WAIT) == 1
        assert value(waiting, "stepfunctions_celery_queue_depth", queue="celery") == 0

        sfn.send_task_success(taskToken=token, output='{"orderId": "m1"}')
        with pytest.raises(ClientError, match="TaskTimedOut"):
            sfn.send_task_success(taskToken=token, output="{}")
        token = wait_for(lambda: open_token(execution.pk, BARISTA_WAIT), timeout=60)
        sfn.send_task_success(taskToken=token, output='{"orderId": "m1"}')
        wait_for(
            lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED", timeout=60
        )

        # Any of the three web processes answers with every process's counters.
        for _ in range(6):
            after = scrape(web)
            accepted = (
                "stepfunctions_callbacks_total",
                {"kind": "success", "outcome": "accepted"},
            )
            refused = (
                "stepfunctions_callbacks_total",
                {"kind": "success", "outcome": "TaskTimedOut"},
            )
            assert (
                value(after, accepted[0], **accepted[1]) - value(before, accepted[0], **accepted[1])
                == 2
            )
            assert (
                value(after, refused[0], **refused[1]) - value(before, refused[0], **refused[1])
                == 1
            )
            latency = value(after, "stepfunctions_callback_duration_seconds_count", kind="success")
            assert latency == 3
            # Three stages ran in the Celery pool (start, after each callback).
            stages = value(after, "stepfunctions_stage_duration_seconds_count", ran="true")
            assert stages >= 3
            assert value(after, "stepfunctions_executions", status="SUCCEEDED") == 1
            assert value(after, "stepfunctions_executions", status="RUNNING") == 0
            assert value(after, "stepfunctions_waiting_tokens", state=BARISTA_WAIT) == 0
            assert value(after, "stepfunctions_scrape_error", source="database") == 0
            assert value(after, "stepfunctions_scrape_error", source="broker") == 0
        heartbeat = [key for key in after if key[0] == "stepfunctions_heartbeat_age_seconds"]
        assert heartbeat, "the worker's heartbeat age is exported"


def test_sweep_lag_is_the_age_of_the_oldest_overdue_token(client, db):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        overdue = factories.waiting_token(heartbeat_seconds=10)
        factories.waiting_token(heartbeat_seconds=900)
        text = client.get("/metrics").content.decode()
        assert value(parse(text), "stepfunctions_sweep_lag_seconds") == 0
        clock.shift(timedelta(seconds=40))
        samples = parse(client.get("/metrics").content.decode())
        assert value(samples, "stepfunctions_sweep_lag_seconds") == pytest.approx(30)
        assert value(samples, "stepfunctions_waiting_tokens", state=overdue.state_name) == 2


def test_metrics_can_require_a_bearer_token(client, db, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200
