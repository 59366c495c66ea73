"""The PostgreSQL faults of `bench.faults --pg-faults`, done one after another while the clients
run lifecycles, and what each did; for bench.faults. Django must be set up on the bench's
database, and the system must reach it through a bench.stores.DatabaseLink.

Only the bench's own database is touched: its backends terminated (never another database's,
nor the bench process's own: they carry BENCH_APPLICATION), its executions table locked. The
machine's PostgreSQL server is shared, so a restart and a stop are the link cut: every
connection reset and new ones refused, as a server going down does, then let in again.
"""

import threading
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bench import fault_clients, stores
from bench.fault_clients import Tally

BENCH_APPLICATION = "bench.faults"
FAULTS = ("terminate", "restart", "stop", "lock")


@dataclass
class Fault:
    name: str
    started: float  # time.monotonic()
    cleared: float
    detail: str = ""


def describe(name: str, options) -> str:
    """What the fault `name` does, for the report."""
    return {
        "terminate": "every backend of the bench's database terminated (`pg_terminate_backend`)",
        "restart": "PostgreSQL restarted: the database link cut, let in again 1 s later",
        "stop": f"PostgreSQL stopped for {options.stop_seconds:g} s: the database link cut, "
        "let in again",
        "lock": f"executions table locked ACCESS EXCLUSIVE for {options.lock_seconds:g} s, "
        f"web's lock bound {options.web_lock_timeout:g} s",
    }[name]


def bench_connections_name() -> None:
    """The bench process's own connections carry BENCH_APPLICATION (spared by the terminate),
    and a lock bound as the web's: its clients' reads of tokens never wait out a locked table
    (they would send no call meanwhile), they read again."""
    from django.db import connection, connections

    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["application_name"] = BENCH_APPLICATION
    options["options"] = f"{options.get('options', '')} -c lock_timeout=200".strip()
    connections.close_all()


def backends_terminate() -> int:
    """pg_terminate_backend of every client backend of the bench's database (the system's, through
    the link), the bench's own spared; how many."""
    with psycopg.connect(stores.django_database_url(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid() AND application_name <> %s",
            [BENCH_APPLICATION],
        ).fetchall()
    return len(rows)


def table_lock(seconds: float) -> None:
    """LOCK TABLE <executions> IN ACCESS EXCLUSIVE MODE, held `seconds` in one transaction."""
    from stepfunctions.models import Execution

    with psycopg.connect(stores.django_database_url()) as connection:
        table = sql.Identifier(Execution._meta.db_table)
        connection.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        time.sleep(seconds)
    # Leaving the block commits: the lock is released.


def schedule(link: stores.DatabaseLink, tally: Tally, options, over: threading.Event) -> list:
    """Each fault in FAULTS in turn after a warm-up, `options.after` seconds apart after each one
    clears; the tally's phase says which fault is on ("<name> during") or just cleared ("<name>
    after"). Sets `over` when the last one's after-time is done. The faults, timed."""
    faults = []
    time.sleep(options.after)
    for name in FAULTS:
        tally.phase = f"{name} during"
        print(f"  fault: {name}", flush=True)
        fault = Fault(name, time.monotonic(), 0.0)
        if name == "terminate":
            fault.detail = f"{backends_terminate()} backends"
        elif name == "lock":
            table_lock(options.lock_seconds)
        else:
            link.cut()
            time.sleep(1.0 if name == "restart" else options.stop_seconds)
            link.mend()
        fault.cleared = time.monotonic()
        tally.phase = f"{name} after"
        faults.append(fault)
        time.sleep(options.after)
    over.set()
    return faults


def figures(tally: Tally, faults: list[Fault], options) -> dict:
    """Per fault, over the lifecycles started while it was on or in the time after it: answers
    5xx (503s among them) during and after, the stall after clearing (its first 2xx answer, and
    its first stage done, after it cleared), and lifecycles lost, stuck or duplicated."""
    from stepfunctions.models import Execution

    rows = {}
    for fault in faults:
        during, after = f"{fault.name} during", f"{fault.name} after"
        executions = Execution.objects.filter(name__startswith=f"order-{fault.name}-")
        stall = [
            round(first[after] - fault.cleared, 2) if after in first else None
            for first in (tally.first_2xx, tally.first_stage)
        ]
        rows[fault.name] = {
            "fault": describe(fault.name, options),
            "detail": fault.detail,
            "held (s)": round(fault.cleared - fault.started, 1),
            **{
                f"{kind} {when}": tally.counts[f"{phase} answers {kind}"]
                for when, phase in (("during", during), ("after", after))
                for kind in ("2xx", "5xx", "503")
            },
            "first 2xx after clearing (s)": stall[0],
            "first stage done after clearing (s)": stall[1],
            "lifecycles": executions.count(),
            "lost": executions.exclude(status__in=("SUCCEEDED", "RUNNING")).count(),
            "stuck": executions.filter(status="RUNNING").count(),
            **fault_clients.duplicates(f"order-{fault.name}-"),
        }
    return rows


def markdown(rows: dict, command: str, options, web_tracebacks: int) -> list[str]:
    """The section's lines: one row a fault, and the command that made them."""
    lines = [
        "### At scale: `bench.faults --pg-faults`",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, PostgreSQL, 2 shared cores:",
        "runsystem (the bench's settings, as the other faults': gunicorn, a prefork worker of 2,",
        "beat) reaching a throwaway database through a TCP link the bench cuts; "
        f"{options.clients} boto3",
        "clients run lifecycle after lifecycle, sending a call again 0.2 s after a 5xx, watching",
        "their execution (DescribeExecution) while they wait, and reading the tokens from the",
        "database with a 0.2 s lock bound. Each fault counts the lifecycles",
        f"started while it was on or in the {options.after:g} s after it. Stall: the first 2xx "
        "answer, and",
        "the first stage done, after the fault cleared. The faults touch the bench's database",
        f"only. Tracebacks or 500 pages in the web's log: {web_tracebacks} (the worker's failed",
        "stages log theirs, as any failed task does).",
        "",
        "| fault | 5xx during (503s) | 5xx after (503s) | stall after clearing | lifecycles: "
        "lost / stuck / duplicated |",
        "|---|---|---|---|---|",
    ]
    for row in rows.values():
        detail = f" ({row['detail']})" if row["detail"] else ""
        lines.append(
            f"| {row['fault']}{detail}, held {row['held (s)']:g} s "
            f"| {row['5xx during']} ({row['503 during']}) "
            f"| {row['5xx after']} ({row['503 after']}) "
            f"| answers {row['first 2xx after clearing (s)']} s, stages "
            f"{row['first stage done after clearing (s)']} s "
            f"| {row['lifecycles']}: {row['lost']} / {row['stuck']} / "
            f"{row['states entered twice'] + row['order numbers given twice']} |"
        )
    return [*lines, "", "```", command, "```", ""]
