"""One nudge runs many due stages (stepfunctions.services.messages, stages.stages_run_due).

The nudges here are recorded instead of sent (`sent`), so each test decides when a worker runs
them; the flag saying a nudge is pending is the real one, in the real Redis.
"""

import os
import subprocess
import sys
import threading

import pytest
from django.db import connection, connections

from stepfunctions import hooks, services
from stepfunctions.models import Execution, HistoryEvent
from stepfunctions.models.executions import ExecutionQuerySet
from stepfunctions.services import messages
from stepfunctions.services.events import redis_client
from stepfunctions.services.messages import NUDGE_KEY
from stepfunctions.tasks import advance_execution
from tests.conftest import SEED_INPUT, open_token, wait_for

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"


@pytest.fixture
def sent(monkeypatch, redis_url):
    """The nudges sent to the broker (each its args), recorded instead of sent; no flag left from
    an earlier test."""
    redis_client().delete(NUDGE_KEY)
    calls = []

    def record(args=(), kwargs=None, countdown=None, **options):
        calls.append({"args": list(args), "countdown": countdown})

    monkeypatch.setattr(advance_execution, "apply_async", record)
    yield calls
    redis_client().delete(NUDGE_KEY)


def _deliver(sent: list) -> int:
    """Runs the recorded batch nudges as a worker would; returns how many there were."""
    nudges = [call for call in sent if not call["args"]]
    sent.clear()
    for _ in nudges:
        advance_execution.run()
    return len(nudges)


def _stages(executions):
    return sorted(Execution.objects.filter(pk__in=[e.pk for e in executions]).values_list(
        "stage", flat=True))  # fmt: skip


def test_one_nudge_runs_the_stages_of_many_executions(machine, sent):
    executions = [
        services.execution_start(state_machine=machine, input=SEED_INPUT)[0] for _ in range(5)
    ]
    # The first start sent the nudge; the others found it pending.
    assert sent == [{"args": [], "countdown": None}]
    assert _deliver(sent) == 1
    assert _stages(executions) == ["WAITING"] * 5
    assert sent == []  # a short batch sends nothing more
    # Each stage wrote what it ran, nothing of another's.
    for execution in executions:
        execution.refresh_from_db()
        assert execution.history.count() == execution.event_count > 0
        assert execution.position.state == CUSTOMER_WAIT
        assert execution.tokens.get().pk == execution.position.token_id


def test_a_full_batch_nudges_again_so_a_second_worker_joins(machine, sent, settings):
    settings.WORKFLOW_STAGE_BATCH = 2
    executions = [
        services.execution_start(state_machine=machine, input=SEED_INPUT)[0] for _ in range(5)
    ]
    sent.clear()
    redis_client().delete(NUDGE_KEY)  # as the worker taking the first nudge does
    assert services.stages_run_due() == 5
    # 2 + 2 + 1: each full batch left a nudge for another worker (one pending at a time).
    assert sent == [{"args": [], "countdown": None}]
    assert _stages(executions) == ["WAITING"] * 5


def test_the_worker_clears_the_flag_before_it_claims(machine, sent, monkeypatch):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    assert redis_client().exists(NUDGE_KEY)
    flag_at_claim = []
    claim = ExecutionQuerySet.claim_due

    def claim_watched(self, **kwargs):
        flag_at_claim.append(redis_client().exists(NUDGE_KEY))
        return claim(self, **kwargs)

    monkeypatch.setattr(ExecutionQuerySet, "claim_due", claim_watched)
    _deliver(sent)
    assert flag_at_claim == [0]
    assert _stages([execution]) == ["WAITING"]


def test_a_stage_committed_after_the_claim_gets_a_nudge_of_its_own(machine, sent, monkeypatch):
    """The race the flag's ordering is for: a commit lands once the worker has claimed (and so
    cannot see it). It must leave a nudge, or the stage waits for the relay."""
    first, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    late = []
    claim = ExecutionQuerySet.claim_due

    def claim_then_commit(self, **kwargs):
        claimed = claim(self, **kwargs)
        if not late:
            late.append(_commit_elsewhere(machine))
        return claimed

    monkeypatch.setattr(ExecutionQuerySet, "claim_due", claim_then_commit)
    assert _deliver(sent) == 1
    assert _stages([first]) == ["WAITING"]
    (late_execution,) = late
    assert _stages([late_execution]) == ["READY"]  # committed after the claim: not run by it
    assert sent == [{"args": [], "countdown": None}]  # ... but nudged
    monkeypatch.setattr(ExecutionQuerySet, "claim_due", claim)
    assert _deliver(sent) == 1
    assert _stages([late_execution]) == ["WAITING"]


def _commit_elsewhere(machine) -> Execution:
    """Starts an execution from another connection while the worker's claim transaction is open
    (PostgreSQL: it commits at once), or right after it (SQLite lets one writer at a time)."""
    if connection.vendor != "postgresql":
        holder = []
        connection.on_commit(
            lambda: holder.append(
                services.execution_start(state_machine=machine, input=SEED_INPUT)[0]
            )
        )
        return _Later(holder)
    result = []

    def start():
        try:
            result.append(services.execution_start(state_machine=machine, input=SEED_INPUT)[0])
        finally:
            connections.close_all()

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(30)
    return result[0]


class _Later:
    """An execution started once the worker's transaction commits (SQLite)."""

    def __init__(self, holder: list) -> None:
        self._holder = holder

    @property
    def pk(self):
        return self._holder[0].pk


def test_a_poison_stage_in_a_batch_does_not_stop_the_others(machine, sent):
    failing = []

    def poison(events):
        for event in events:
            if event.execution_id in failing:
                raise ValueError("this stage cannot be stored")

    hooks.on_events(poison)
    try:
        executions = [
            services.execution_start(state_machine=machine, input=SEED_INPUT)[0] for _ in range(4)
        ]
        failing.append(executions[1].pk)
        assert _deliver(sent) == 1
    finally:
        hooks._events_handlers.remove(poison)
    poisoned = Execution.objects.get(pk=executions[1].pk)
    assert (poisoned.status, poisoned.error) == ("FAILED", "States.Runtime")
    assert "ValueError: this stage cannot be stored" in poisoned.cause
    assert list(poisoned.history.values_list("type", flat=True)) == ["ExecutionFailed"]
    others = [e for e in executions if e.pk != poisoned.pk]
    assert _stages(others) == ["WAITING"] * 3
    for execution in others:
        assert HistoryEvent.objects.filter(execution=execution, type="ExecutionFailed").count() == 0


def test_an_idle_callback_sends_its_nudge_at_commit_with_no_delay(machine, sent):
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    _deliver(sent)
    token = open_token(execution, CUSTOMER_WAIT)
    services.task_success(task_token=token, output='{"orderId": 1}')
    # Nothing else pending: the callback's own nudge, sent as it committed, due at once.
    assert sent == [{"args": [], "countdown": None}]
    _deliver(sent)
    execution.refresh_from_db()
    assert execution.position.state == BARISTA_WAIT


def test_a_stage_due_later_gets_a_message_at_its_time(machine, sent):
    """A retry's delay: a message of its own, delivered when the stage is due, not the batch's."""
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    sent.clear()
    messages.execution_nudge(execution.pk, countdown=30)
    assert sent == [{"args": [str(execution.pk)], "countdown": 30}]


@pytest.mark.integration
def test_an_idle_system_runs_the_stage_after_a_callback_through_the_real_worker(
    live_stages, machine
):
    redis_client().delete(NUDGE_KEY)
    execution, _ = services.execution_start(state_machine=machine, input=SEED_INPUT)
    wait_for(lambda: Execution.objects.get(pk=execution.pk).stage == "WAITING", timeout=20)
    services.task_success(task_token=open_token(execution, CUSTOMER_WAIT), output="{}")
    wait_for(
        lambda: Execution.objects.get(pk=execution.pk).position.state == BARISTA_WAIT,
        timeout=20,
        message="the stage after the callback runs",
    )
    # The worker took the nudge: none is left pending to hold back the next commit.
    wait_for(lambda: not redis_client().exists(NUDGE_KEY), timeout=5)


def test_the_batch_size_comes_from_the_environment(tmp_path):
    """WORKFLOW_STAGE_BATCH is read where the other settings read the environment."""
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.WORKFLOW_STAGE_BATCH)",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "serverlesspresso.settings.test",
            "SERVERLESSPRESSO_VAR_DIR": str(tmp_path),
            "WORKFLOW_STAGE_BATCH": "7",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert printed.stdout.strip() == "7"
