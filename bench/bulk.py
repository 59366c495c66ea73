"""Waiting executions by the hundred thousand, straight in SQL (generate_series), cloned from one
real execution waiting for its first callback, so the rows are whatever the engine itself writes
(any columns it has), with only the name, the id, the token and the deadline changed.

The SQL is put together from the models' own table and column names, never from input.
"""

import time

from django.db import connection
from django.utils import timezone

TEMPLATE_EXECUTIONS = "bench_template_execution"
TEMPLATE_TOKENS = "bench_template_token"


def _tables():
    from stepfunctions.models import CallbackToken, Execution

    return Execution._meta, CallbackToken._meta


def template_keep(execution_name: str) -> None:
    """Copies the named execution and its open token into tables of their own (they outlive a
    TRUNCATE of the engine's tables)."""
    executions, tokens = _tables()
    with connection.cursor() as cursor:
        for table in (TEMPLATE_EXECUTIONS, TEMPLATE_TOKENS):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {TEMPLATE_EXECUTIONS} AS SELECT * FROM {executions.db_table} "  # noqa: S608
            "WHERE name = %s",
            [execution_name],
        )
        cursor.execute(
            f"CREATE TABLE {TEMPLATE_TOKENS} AS SELECT t.* FROM {tokens.db_table} t "  # noqa: S608
            f"JOIN {TEMPLATE_EXECUTIONS} e ON t.{_column(tokens, 'execution')} = e.id "
            "WHERE t.status = 'OPEN'"
        )
        cursor.execute(f"SELECT count(*) FROM {TEMPLATE_TOKENS}")  # noqa: S608
        (count,) = cursor.fetchone()
    if count != 1:
        raise RuntimeError(f"template {execution_name} has {count} open tokens, expected 1")


def _column(meta, field_name: str) -> str:
    return meta.get_field(field_name).column


def _uuid(prefix: str) -> str:
    return f"md5('{prefix}-' || g)::uuid"


def clone_waiting(prefix: str, count: int, *, due_in: float, point_cursor: bool = True) -> dict:
    """`count` executions named prefix-1..count, each with one open token whose deadline (and
    heartbeat deadline) is `due_in` seconds after the tokens' INSERT begins (the executions go in
    first, the tokens last: only they make anything due). With `point_cursor` (for executions that
    will resume) each cursor names its own token where the engine keeps the token's id there.
    Returns the deadline and the seconds each step took."""
    executions, tokens = _tables()
    steps: dict = {}
    started = time.perf_counter()

    def step(name: str) -> None:
        nonlocal started
        steps[name] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()

    token_pk = tokens.pk.column
    execution_columns = [f.column for f in executions.concrete_fields]
    token_columns = [f.column for f in tokens.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cursor ? 'token_id' FROM {TEMPLATE_EXECUTIONS}"  # noqa: S608
            if "cursor" in execution_columns
            else "SELECT false"
        )
        (points_at_token,) = cursor.fetchone()
        # The tokens' ids, taken from their sequence up front so that each execution's cursor
        # can name its token as it is inserted (no UPDATE of every row afterwards).
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [tokens.db_table, token_pk])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first_id,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", [sequence, first_id + count])
        replaced = {"id": _uuid(prefix), "name": f"'{prefix}-' || g"}
        if point_cursor and points_at_token:
            replaced["cursor"] = "jsonb_set(e.cursor, '{token_id}', to_jsonb(%(first)s + g))"
        token_replaced = {
            token_pk: "%(first)s + g",
            _column(tokens, "execution"): _uuid(prefix),
            _column(tokens, "token"): f"t.{_column(tokens, 'token')} || '-{prefix}-' || g",
            _column(tokens, "deadline"): "%(deadline)s",
            _column(tokens, "heartbeat_deadline"): "%(deadline)s",
            _column(tokens, "created_at"): "now()",
        }
        cursor.execute("SET synchronous_commit = off")
        # The clones are consistent by construction: no per-row foreign-key trigger needed.
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                f"INSERT INTO {executions.db_table} ({', '.join(execution_columns)}) "  # noqa: S608
                f"SELECT {', '.join(replaced.get(c, f'e.{c}') for c in execution_columns)} "
                f"FROM {TEMPLATE_EXECUTIONS} e, generate_series(1, %(count)s) g",
                {"count": count, "first": first_id - 1},
            )
            step("executions")
            cursor.execute("SELECT clock_timestamp() + make_interval(secs => %s)", [due_in])
            (deadline,) = cursor.fetchone()
            cursor.execute(
                f"INSERT INTO {tokens.db_table} ({', '.join(token_columns)}) "  # noqa: S608
                f"SELECT {', '.join(token_replaced.get(c, f't.{c}') for c in token_columns)} "
                f"FROM {TEMPLATE_TOKENS} t, generate_series(1, %(count)s) g",
                {"count": count, "deadline": deadline, "first": first_id - 1},
            )
            step("tokens")
            steps["tokens committed before the deadline by"] = round(
                (deadline - timezone.now()).total_seconds(), 1
            )
            # As autovacuum would soon: the planner sees the new rows (and the partial indexes pay).
            cursor.execute(f"ANALYZE {executions.db_table}")
            cursor.execute(f"ANALYZE {tokens.db_table}")
            step("analyze")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET synchronous_commit = DEFAULT")
    return {"deadline": deadline, "seconds": steps}


def engine_tables_empty() -> None:
    """TRUNCATE of the executions and everything that points at them (tokens, history, events,
    the coffee bar's orders)."""
    executions, _ = _tables()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {executions.db_table} CASCADE")
