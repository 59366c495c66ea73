"""A batch's multi-row writes (stepfunctions.models.bulk, ExecutionQuerySet.stages_save): what is
read back is what was written, whatever the values hold, on PostgreSQL (one JSON parameter made
into typed rows) and on SQLite (a VALUES list)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from stepfunctions.models import CallbackToken, Execution, HistoryEvent
from stepfunctions.models.bulk import rows_insert, tuples_insert
from stepfunctions.models.history import HISTORY_FIELDS
from stepfunctions.services.stage import token_new
from tests.stepfunctions import factories

pytestmark = pytest.mark.django_db

AWKWARD = [
    {},
    {"quote": 'it\'s "quoted" \\ back\\slash', "unicode": "café ☕ \u2028", "nul-ish": "\\u0000"},
    {"nested": {"list": [1, 2.5, None, True, "%s", "%(name)s"], "empty": {}}},
    "a JSON string",
    [1, "two", {"three": None}],
    12.5,
]


def test_history_rows_read_back_as_written():
    execution = factories.execution()
    now = timezone.now().replace(microsecond=123456)
    rows = [
        execution.history_row("PassStateEntered", details, now=now + timedelta(microseconds=i))
        for i, details in enumerate(AWKWARD)
    ]
    tuples_insert(HistoryEvent, rows, HISTORY_FIELDS)
    stored = list(HistoryEvent.objects.filter(execution=execution).order_by("event_id"))
    assert [e.details for e in stored] == AWKWARD
    assert [e.timestamp for e in stored] == [row[4] for row in rows]
    assert [(e.event_id, e.previous_event_id) for e in stored] == [
        (i + 1, i) for i in range(len(AWKWARD))
    ]
    assert execution.event_count == len(AWKWARD)


def test_inserted_tokens_get_their_own_ids_in_order():
    execution = factories.execution()
    now = timezone.now()
    tokens = [
        CallbackToken(token=token_new(), execution=execution, state_name=f"S{i}", created_at=now)
        for i in range(50)
    ]
    rows_insert(
        CallbackToken,
        tokens,
        ("token", "execution", "state_name", "status", "created_at"),
        returning_pk=True,
    )
    by_token = dict(CallbackToken.objects.values_list("token", "pk"))
    assert [t.pk for t in tokens] == [by_token[t.token] for t in tokens]
    assert len(set(by_token.values())) == 50


def test_executions_save_their_fields_in_one_statement(django_assert_num_queries):
    values = [*AWKWARD, None]  # output may be NULL
    executions = [factories.execution(stage=Execution.Stage.READY) for _ in values]
    now = timezone.now().replace(microsecond=654321)
    for index, (execution, value) in enumerate(zip(executions, values, strict=True)):
        execution.output = value
        execution.cursor = {"kind": "continue", "state": "S", "input": value, "variables": None}
        execution.due_at = now + timedelta(seconds=index) if index % 2 else None
        execution.error = f"Error{index}'"
        execution.event_count = index
    with django_assert_num_queries(1):
        Execution.objects.stages_save(
            executions, ("cursor", "due_at", "output", "error", "event_count")
        )
    for execution in executions:
        stored = Execution.objects.get(pk=execution.pk)
        assert stored.output == execution.output
        assert stored.cursor == execution.cursor
        assert stored.due_at == execution.due_at
        assert (stored.error, stored.event_count) == (execution.error, execution.event_count)


def test_a_claim_reads_what_the_orm_reads():
    """claim_due builds its executions from one statement: the same values Django would read,
    one machine and one version instance shared by the executions on them."""
    now = timezone.now()
    due = [
        factories.execution(
            stage=Execution.Stage.READY,
            due_at=now - timedelta(seconds=i),
            input={"detail": {"orderId": str(i)}, "s": "a JSON string"},
            cursor={"kind": "continue", "state": "S", "input": [i, None]},
            timeout_at=now + timedelta(hours=1),
        )
        for i in range(3)
    ]
    factories.execution(stage=Execution.Stage.READY, due_at=now + timedelta(hours=1))  # not due
    with transaction.atomic():
        claimed, due_total = Execution.objects.claim_due(now=now, limit=10)
    assert due_total == 3
    assert [e.pk for e in claimed] == [e.pk for e in reversed(due)]  # oldest first
    fields = [f.attname for f in Execution._meta.concrete_fields]
    for execution in claimed:
        stored = Execution.objects.select_related("state_machine", "version").get(pk=execution.pk)
        assert [getattr(execution, f) for f in fields] == [getattr(stored, f) for f in fields]
        assert execution.state_machine.arn == stored.state_machine.arn
        assert execution.version.number == stored.version.number
        assert execution.position == stored.position
    assert len({id(e.state_machine) for e in claimed}) == 1
    assert len({id(e.version) for e in claimed}) == 1
