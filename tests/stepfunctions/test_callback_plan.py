"""A callback's one statement (CallbackToken.objects.close_and_wake) finds its rows by key, so
its cost does not grow with the executions waiting, whatever PostgreSQL's statistics say.

Written as joins, the statement's plan hung on the statistics: on tables not yet analyzed (a
fresh database, the first minute of an event) PostgreSQL walked every waiting execution for
each callback, 2.8 ms with 200 waiting against 0.1 ms by key.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from stepfunctions.models import CallbackToken, Execution
from stepfunctions.models.tokens import CLOSE_AND_WAKE
from stepfunctions.services.stage import token_new
from tests.stepfunctions import factories

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs close_and_wake as two UPDATEs by key, with no plan to choose",
    ),
]
WAITING = 400


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.fixture
def waiting_tokens(db) -> list[str]:
    first = factories.execution()
    now = timezone.now()
    executions = Execution.objects.bulk_create(
        Execution(
            state_machine=first.state_machine, version=first.version, name=f"wait-{i}",
            input={"detail": {"orderId": str(i)}}, stage=Execution.Stage.WAITING, start_date=now,
        )
        for i in range(WAITING)
    )  # fmt: skip
    deadline = now + timedelta(seconds=900)
    tokens = CallbackToken.objects.bulk_create(
        CallbackToken(
            token=token_new(), execution=execution, state_name="Wait", heartbeat_seconds=900,
            heartbeat_deadline=deadline, deadline=deadline, created_at=now,
        )
        for execution in executions
    )  # fmt: skip
    return [token.token for token in tokens]


def test_a_callback_reads_its_rows_by_key_with_many_executions_waiting(waiting_tokens):
    values = {
        "token": waiting_tokens[WAITING // 2],
        "status": "SUCCEEDED",
        "outcome": json.dumps({"output": {}}),
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + CLOSE_AND_WAKE.text(connection), values
        )
        explained = cursor.fetchone()[0]
        transaction.set_rollback(True)
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    nodes = list(_nodes(plan))

    joins = [
        n["Node Type"]
        for n in nodes
        if n["Node Type"] in {"Nested Loop", "Hash Join", "Merge Join"}
    ]
    assert joins == [], "each row by its key through a scalar subquery, no join to plan"
    execution_scans = [
        n["Node Type"]
        for n in nodes
        if n.get("Relation Name") == Execution._meta.db_table and n["Node Type"].endswith("Scan")
    ]
    assert execution_scans and all(t == "Index Scan" for t in execution_scans), execution_scans
    # Pages read for one callback: a handful, not the waiting executions' pages.
    assert plan["Shared Hit Blocks"] + plan.get("Shared Read Blocks", 0) < 100, plan
