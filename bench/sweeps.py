"""The sweeps against a crowd, for bench.throughput: tens of thousands of tokens due at one
moment, swept by the running system, and one tick of each sweep with a million executions
waiting. The crowd is inserted in SQL by bench.bulk; Django must be set up on the system's
database (bench.system.django_setup).
"""

import json
import math
import time
from datetime import UTC, datetime, timedelta

from bench import bulk, stats, stores
from bench.clients import Target, sfn_client
from bench.report import say


def measure_timeouts(target: Target, sizes: dict) -> dict:
    """`timeouts` tokens all due at one moment, inserted in SQL, swept by the running system."""
    from django.db import connection

    from stepfunctions.models import CallbackToken, Execution

    count = sizes["timeouts"]
    sfn = sfn_client(target)
    sfn.start_execution(stateMachineArn=target.state_machine_arn, name="tmo-template",
                        input=json.dumps({"detail": {"orderId": "t", "userId": "bench"}}))  # fmt: skip
    deadline = time.monotonic() + 60
    while not CallbackToken.objects.filter(execution__name="tmo-template", status="OPEN").exists():
        if time.monotonic() > deadline:
            return {"error": "the template execution never reached its first wait"}
        time.sleep(0.1)
    bulk.template_keep("tmo-template")
    say(f"timeouts: inserting {count:,} waiting executions, all due together")
    inserted = bulk.clone_waiting("tmo", count, due_in=sizes["timeout_margin"])
    due = inserted["deadline"]
    say(f"  due at {due:%H:%M:%S}; inserted: {inserted['seconds']} s")
    tokens = CallbackToken.objects.filter(execution__name__startswith="tmo-")
    cap = due + timedelta(seconds=sizes["timeout_cap"])
    while datetime.now(UTC) < cap:
        open_left = tokens.filter(status="OPEN").count()
        if not open_left:
            break
        time.sleep(0.5)
    with connection.cursor() as cursor:
        table = CallbackToken._meta.db_table
        executions = Execution._meta.db_table
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE t.status = 'TIMED_OUT'), "  # noqa: S608
            f"percentile_disc(0.99) WITHIN GROUP (ORDER BY t.closed_at - t.deadline), "
            f"max(t.closed_at - t.deadline), "
            f"count(e.stop_date), percentile_disc(0.99) WITHIN GROUP (ORDER BY e.stop_date - t.deadline), "
            f"max(e.stop_date - t.deadline) "
            f"FROM {table} t JOIN {executions} e ON e.id = t.execution_id WHERE e.name LIKE 'tmo-%%' "
            f"AND e.name <> 'tmo-template'"
        )  # fmt: skip
        timed_out, p99, latest, ended, ended_p99, ended_latest = cursor.fetchone()

    def s(value) -> float | None:
        return None if value is None else round(value.total_seconds(), 2)

    return {
        "tokens": count,
        "insert seconds": inserted["seconds"],
        "timed out": timed_out,
        "all timed out within s": s(latest) if timed_out == count else None,
        # Of those timed out; with more than 1% still open, p99 is past the wait itself.
        "lateness p99 s": s(p99) if timed_out >= math.ceil(0.99 * count) else None,
        "lateness p99 of those timed out s": s(p99),
        "lateness max s": s(latest),
        "executions ended (Catch path run)": ended,
        "ended p99 after the deadline s": s(ended_p99),
        "ended max after the deadline s": s(ended_latest),
        "waited until s after the deadline": round((datetime.now(UTC) - due).total_seconds(), 1),
    }


def _timed(call) -> dict:
    started = time.perf_counter()
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 (a sweep this code base lacks is a figure too)
        return {"error": f"{type(error).__name__}: {error}"[:200]}
    return {"ms": round((time.perf_counter() - started) * 1000, 2), "returned": value}


def measure_sweep_tick(sizes: dict) -> dict:
    """One tick of each sweep with `waiting` executions waiting and none due, then with `due`
    due (tokens past their deadline; for the relay and the stall recovery, stages left READY)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from stepfunctions import services
    from stepfunctions.models import CallbackToken

    waiting = sizes["waiting"]
    bulk.engine_tables_empty()
    say(f"sweep tick: inserting {waiting:,} waiting executions, none due")
    inserted = bulk.clone_waiting("wait", waiting, due_in=86400, point_cursor=False)
    say(f"  inserted: {inserted['seconds']} s")
    relay_after = timedelta(seconds=getattr(settings, "WORKFLOW_RELAY_SECONDS", 2) + 1)
    stall_after = timedelta(seconds=getattr(settings, "WORKFLOW_STALL_SECONDS", 30) + 1)
    sweeps = {
        "tokens_expire": lambda: services.tokens_expire(),
        "executions_time_out": lambda: services.executions_time_out(),
        "executions_relay": lambda: services.executions_relay(now=timezone.now() + relay_after),
        "executions_recover": lambda: services.executions_recover(now=timezone.now() + stall_after),
    }
    figures: dict = {"waiting": waiting, "insert seconds": inserted["seconds"]}
    none_due = {}
    for name, call in sweeps.items():
        runs = [_timed(call) for _ in range(5)]
        times = [r["ms"] for r in runs if "ms" in r]
        none_due[name] = (
            {"median ms": stats.percentile(times, 0.5), "min ms": min(times)} if times else runs[0]
        )
    figures["none due"] = none_due
    say("  none due:", json.dumps(none_due))
    due = sizes["due"]
    tokens = CallbackToken._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {tokens.db_table} SET deadline = now() - interval '1 second', "  # noqa: S608
            f"heartbeat_deadline = now() - interval '1 second' WHERE {tokens.pk.column} IN "
            f"(SELECT {tokens.pk.column} FROM {tokens.db_table} WHERE status = 'OPEN' LIMIT %s)",
            [due],
        )
    stores.redis_flush()
    with_due = {"tokens_expire": _timed(sweeps["tokens_expire"])}
    # The expired tokens' executions are READY now: the relay's and the recovery's due stages.
    stores.redis_flush()
    with_due["executions_relay"] = _timed(sweeps["executions_relay"])
    stores.redis_flush()
    with_due["executions_recover"] = _timed(sweeps["executions_recover"])
    stores.redis_flush()
    figures[f"{due} due"] = with_due
    say(f"  {due} due:", json.dumps(with_due))
    return figures
