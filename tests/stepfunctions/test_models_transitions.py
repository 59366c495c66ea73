"""The models' declared transitions and raw statements: each UPDATE is conditional on the state
it leaves (the row count says who won, a second try changes nothing), and each statement names
the engine's tables from the models."""

import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from stepfunctions.models import CallbackToken, ChildGroup, Cursor, Execution
from stepfunctions.models.sql import PerVendor, Statement
from tests.stepfunctions import factories

pytestmark = pytest.mark.django_db


def test_a_statement_names_the_engines_tables_from_the_models():
    statement = Statement("SELECT 1 FROM {Execution} e WHERE {where}", sqlite="SELECT 2 {where}")
    text = statement.text(connection, where="TRUE")
    quoted = connection.ops.quote_name("stepfunctions_execution")
    if connection.vendor == "postgresql":
        assert text == f"SELECT 1 FROM {quoted} e WHERE TRUE"
    else:
        assert text == "SELECT 2 TRUE"
    assert statement.text(connection, where="TRUE") is text  # made once
    assert PerVendor(postgresql="p", sqlite="s").of(connection) == connection.vendor[0]


def test_close_and_wake_gives_the_executions_name_and_wakes_it_once():
    token = factories.waiting_token()
    execution = token.execution
    now = timezone.now()
    with transaction.atomic():
        row = CallbackToken.objects.close_and_wake(
            token.token, status=CallbackToken.Status.SUCCEEDED, outcome={"output": 1}, now=now
        )
    assert row == {
        "pk": token.pk,
        "execution_id": execution.pk,
        "state_name": "Wait",
        "execution_name": execution.name,
    }
    execution.refresh_from_db()
    token.refresh_from_db()
    assert (execution.stage, execution.due_at) == (Execution.Stage.READY, now)
    assert (token.status, token.outcome) == (CallbackToken.Status.SUCCEEDED, {"output": 1})
    with transaction.atomic():
        again = CallbackToken.objects.close_and_wake(
            token.token, status=CallbackToken.Status.FAILED, outcome={}, now=now
        )
    assert again is None
    assert CallbackToken.objects.close_and_wake_is_one_statement() is (
        connection.vendor == "postgresql"
    )


def test_end_is_conditional_on_running_and_writes_what_ending_changes():
    execution = factories.execution(stage=Execution.Stage.READY, due_at=timezone.now())
    now = timezone.now()
    execution.history_event("ExecutionAborted", {}, now=now).save()
    assert execution.end(status=Execution.Status.ABORTED, now=now, error="E", cause="C")
    stored = Execution.objects.get(pk=execution.pk)
    assert (stored.status, stored.stage, stored.due_at) == ("ABORTED", "DONE", None)
    assert (stored.stop_date, stored.error, stored.cause) == (now, "E", "C")
    assert (stored.cursor, stored.event_count) == ({}, 1)
    late = Execution.objects.get(pk=execution.pk)
    assert not late.end(status=Execution.Status.TIMED_OUT, now=timezone.now())
    assert Execution.objects.get(pk=execution.pk).status == Execution.Status.ABORTED


def _group(parent: Execution, *, children: int) -> tuple[ChildGroup, list[Execution]]:
    group = ChildGroup.objects.create(
        parent=parent, root=parent, state_name="Map", kind="Map", open_children=children
    )
    rows = [
        factories.execution(group=group, branch_index=index, cursor=Cursor(Cursor.START).to_json())
        for index in range(children)
    ]
    return group, rows


def test_children_start_starts_the_lowest_unstarted_children_once():
    group, children = _group(factories.execution(), children=3)
    now = timezone.now()
    assert Execution.objects.children_start(group_id=group.pk, count=2, now=now) == 2
    stages = dict(Execution.objects.filter(group=group).values_list("branch_index", "stage"))
    assert stages == {0: "READY", 1: "READY", 2: "WAITING"}
    assert Execution.objects.children_start(group_id=group.pk, count=5, now=now) == 1
    assert Execution.objects.children_start(group_id=group.pk, count=5, now=now) == 0


def test_seal_marks_a_group_woken_once():
    group, _ = _group(factories.execution(), children=1)
    assert ChildGroup.objects.filter(pk=group.pk).seal() == 1
    assert ChildGroup.objects.filter(pk=group.pk).seal() == 0
    assert ChildGroup.objects.get(pk=group.pk).woken


def test_event_ids_are_reserved_only_while_the_execution_runs():
    execution = factories.execution()
    assert Execution.objects.event_ids_reserve(root_id=execution.pk, count=3) == 3
    assert Execution.objects.event_ids_reserve(root_id=execution.pk, count=2) == 5
    Execution.objects.filter(pk=execution.pk).update(status=Execution.Status.SUCCEEDED)
    assert Execution.objects.event_ids_reserve(root_id=execution.pk, count=1) is None
    assert Execution.objects.event_ids_reserve(root_id=uuid.uuid4(), count=1) is None
