"""PostgreSQL faults on the production web process: what Step Functions clients, the coffee bar's
JSON and readiness see while the database drops its connections, is unreachable, or has the
executions table locked; and that everything answers again once it is back.

Real processes (serverlesspresso.asgi under gunicorn, production settings, DEBUG off) on the test
database; real faults: pg_terminate_backend of the test database's backends, a TCP link to the
database cut and mended, LOCK TABLE ... IN ACCESS EXCLUSIVE MODE held by the test.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.db import connection
from django.db.models import Count
from psycopg import sql

from bench.stores import database_link
from orders.services.order_processor import BARISTA_WAIT, CUSTOMER_WAIT
from stepfunctions.models import Execution, HistoryEvent
from tests.conftest import wait_for
from tests.operations.web_clients import EXECUTION_ARN, ORDER_ARN, server_errors
from tests.operations.web_faults import (
    backends_terminate,
    boto3_client,
    http,
    web_start,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_terminate_backend, lock_timeout: PostgreSQL's own",
    ),
]


def test_no_5xx_after_every_backend_of_the_database_was_terminated(shop, clients):
    web = clients(web_start(shop))
    warm = web.rounds(16)
    assert server_errors(warm) == [] and warm[0]["order_start"] == 202, warm

    for _ in range(3):
        # The web's kept connections (one per request thread that served) and any other's.
        terminated = backends_terminate()
        assert terminated >= 2
        answers = web.rounds(16)
        print(
            f"terminated {terminated}; then {sum(map(len, answers))} calls: {server_errors(answers)}"
        )
        # Each thread met its dead kept connection at its next request: replaced, not a 500.
        assert server_errors(answers) == [], answers
        assert all(answer["ready"] == 200 for answer in answers), answers
    assert "AdminShutdown" not in shop.log("web")


def test_an_unreachable_database_answers_retryable_503s_and_work_resumes_when_it_is_back(
    shop, clients
):
    with database_link() as database:
        shop.env["DATABASE_URL"] = database.url
        web = clients(web_start(shop))
        assert server_errors(web.rounds(8)) == []
        retrying = boto3_client(
            web.web, shop.key, config=Config(retries={"max_attempts": 3, "mode": "standard"})
        )
        clients_made = [retrying]

        database.link.cut()
        cut = time.monotonic()
        answers = web.rounds(8)
        print(f"cut: {sum(map(len, answers))} calls in {time.monotonic() - cut:.2f}s, all 503")
        statuses = {status for answer in answers for status in answer.values()}
        # Every call the database would serve answered 503; nothing else, no 500.
        assert statuses == {503}, answers

        # Step Functions clients: AWS's shape, which botocore retries (3 retries, then gives up).
        with pytest.raises(ClientError) as refused:
            retrying.describe_execution(executionArn=EXECUTION_ARN)
        error = refused.value.response
        assert error["Error"]["Code"] == "ServiceUnavailable"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["ResponseMetadata"]["RetryAttempts"] == 3
        assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "2"
        # The coffee bar's JSON views: their own error shape.
        detail = http(f"{web.web}/api/orders/x", cookies=shop.cookies)
        assert detail.status == 503 and detail.headers["Retry-After"] == "2"
        assert detail.json()["error"] == "ServiceUnavailable"
        # People: a plain page, no traceback.
        page = http(f"{web.web}/", cookies=shop.cookies)
        assert page.status == 503 and page.headers["Content-Type"].startswith("text/html")
        assert b"right back" in page.body and b"Traceback" not in page.body
        assert http(f"{web.web}/health/ready?check=database").status == 503

        database.link.mend()
        cleared = time.monotonic()
        wait_for(
            lambda: not server_errors(web.rounds(8)), timeout=10, interval=0,
            message="every call answering again",
        )  # fmt: skip
        stall = time.monotonic() - cleared
        print(f"calls answering again {stall:.2f}s after the database came back")
        assert server_errors(web.rounds(8)) == []
        for client in clients_made:
            client.close()

    log = shop.log("web")
    refusals = log.count("answered 503")
    # One line per refused request (3 attempts of the retrying client among them), no traceback.
    assert refusals >= len(answers) * 4, log[-3000:]
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]


@pytest.fixture
def bounded_shop(shop):
    """The web's bounds moved down to half a second, readiness' to a fifth."""
    shop.env.update(
        DATABASE_LOCK_TIMEOUT_WEB="0.5",
        DATABASE_STATEMENT_TIMEOUT_WEB="3",
        HEALTH_DATABASE_TIMEOUT_SECONDS="0.2",
    )
    return shop


def test_a_locked_executions_table_answers_retryable_503s_within_the_bound(bounded_shop, clients):
    web = clients(web_start(bounded_shop))
    assert server_errors(web.rounds(8)) == []
    table = Execution._meta.db_table

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings.get("HOST") or "127.0.0.1", port=settings.get("PORT") or 5432,
        user=settings["USER"], dbname=settings["NAME"],
    ) as holder:  # fmt: skip
        holder.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table))
        )
        # Released after 10 s whatever happens, so a request that waits shows as slow, not hung.
        release = threading.Timer(10, holder.rollback)
        release.start()
        try:
            locked = time.monotonic()
            answers, took = [], []
            for n in range(3):
                began = time.monotonic()
                answers.append(web.calls(n))
                took.append((time.monotonic() - began) / len(answers[-1]))
            ready = http(f"{web.web}/health/ready?check=database")
            assert time.monotonic() - locked < 10, "requests waited for the lock"
        finally:
            release.cancel()
            holder.rollback()
    print(f"while locked: {answers}; seconds per call {max(took):.2f} at most")
    # Every call that touches the executions table answered 503 after its 0.5 s bound.
    for answer in answers:
        assert answer["start_execution"] == 503 and answer["list_executions"] == 503, answers
        assert answer["order_start"] == 503, answers
    assert max(took) < 1.5, took
    assert ready.status == 503 and "timeout" in ready.json()["checks"]["database"]["error"]
    log = bounded_shop.log("web")
    assert "Database busy: POST /sfn/ answered 503: canceling statement due to lock timeout" in log

    released = time.monotonic()
    assert server_errors(web.rounds(8)) == []
    print(f"calls answering again {time.monotonic() - released:.2f}s after the lock was released")


def _table_locked(seconds: float) -> None:
    """The executions table held ACCESS EXCLUSIVE by a connection of the test's for `seconds`."""
    database = connection.settings_dict
    with psycopg.connect(
        host=database.get("HOST") or "127.0.0.1", port=database.get("PORT") or 5432,
        user=database["USER"], dbname=database["NAME"],
    ) as holder:  # fmt: skip
        table = sql.Identifier(Execution._meta.db_table)
        holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        time.sleep(seconds)
        holder.rollback()


def _open_token(sfn, arn: str, state: str) -> str | None:
    """The token of the task `state` scheduled, read from the execution's history through the
    API, as the seed's console step reads it (the clients keep calling the web meanwhile)."""
    entered = None
    token = None
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    for event in history:
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskScheduled" and entered == state:
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            token = parameters["Entries"][0]["Detail"]["TaskToken"]
    return token


def _lifecycle(sfn, n: str) -> str:
    """One order's lifecycle through the API (start, the customer's and the barista's callbacks),
    with botocore's standard retries riding out the 503s; the execution's ARN."""
    order = {"detail": {"orderId": f"life-{n}", "userId": "u"}}
    arn = sfn.start_execution(stateMachineArn=ORDER_ARN, name=f"life-{n}", input=json.dumps(order))[
        "executionArn"
    ]
    for state in (CUSTOMER_WAIT, BARISTA_WAIT):
        token = wait_for(
            lambda state=state: _open_token(sfn, arn, state),
            timeout=90, interval=0.2, message=f"life-{n} waiting in {state}",
        )  # fmt: skip
        sfn.send_task_success(taskToken=token, output=json.dumps({"orderId": f"life-{n}"}))
    return arn


def test_lifecycles_run_through_every_fault_none_lost_stuck_or_entered_twice(shop):
    """Web, worker and beat all reach the database through the link, with the stage's and the
    web's lock bound at half a second; the faults come one after another while 8 clients run
    lifecycle after lifecycle."""
    with database_link() as database:
        shop.env.update(
            DATABASE_URL=database.url,
            DATABASE_LOCK_TIMEOUT_WEB="0.5",
            DATABASE_LOCK_TIMEOUT_STAGE="0.5",
            DATABASE_LOCK_TIMEOUT_SWEEP="0.5",
            WORKFLOW_STALL_SECONDS="5",
            WORKFLOW_RELAY_SECONDS="1",
        )
        web = web_start(shop)
        shop.worker()
        shop.beat()
        patient = Config(retries={"total_max_attempts": 12, "mode": "standard"})
        clients = [boto3_client(web, shop.key, config=patient) for _ in range(8)]
        try:
            faults_over = threading.Event()

            def lifecycles(k: int) -> list[str]:
                """Lifecycle after lifecycle, so the faults land on work in flight."""
                arns = []
                while not faults_over.is_set():
                    arns.append(_lifecycle(clients[k], f"{k}-{len(arns)}"))
                return arns

            with ThreadPoolExecutor(8) as threads:
                runs = [threads.submit(lifecycles, k) for k in range(8)]
                time.sleep(1)
                backends_terminate()
                time.sleep(1)
                database.link.cut()
                time.sleep(3)
                database.link.mend()
                time.sleep(1)
                _table_locked(3)
                cleared = time.monotonic()
                faults_over.set()
                # A new client at once: how soon the system serves a whole lifecycle again (the
                # running clients also wait out botocore's backoff between their retries).
                fresh = boto3_client(web, shop.key, config=patient)
                clients.append(fresh)
                arns = [_lifecycle(fresh, "fresh")]
                print(f"a fresh lifecycle took {time.monotonic() - cleared:.1f}s after the faults")
                arns += [arn for run in runs for arn in run.result(timeout=120)]
            wait_for(
                lambda: all(
                    clients[0].describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
                    for arn in arns
                ),
                timeout=60, interval=0.2, message="every lifecycle SUCCEEDED",
            )  # fmt: skip
            outputs = [
                json.loads(clients[0].describe_execution(executionArn=arn)["output"])
                for arn in arns
            ]
            print(
                f"all {len(arns)} lifecycles done {time.monotonic() - cleared:.1f}s"
                " after the last fault"
            )
        finally:
            for client in clients:
                client.close()

    log = shop.log("web")
    print(f"the web answered {log.count('answered 503')} retryable 503s, retried by the clients")
    assert "Internal Server Error" not in log and "Traceback" not in log, log[-3000:]
    assert "answered 503" in log, "the faults met no request"
    executions = Execution.objects.filter(name__startswith="life-")
    assert executions.count() == len(arns), "nothing lost, nothing started twice"
    entered = (
        HistoryEvent.objects.filter(execution__in=executions, type__endswith="StateEntered")
        .values("execution_id", "details__name")
        .annotate(times=Count("id"))
    )
    assert entered and all(row["times"] == 1 for row in entered), [
        row for row in entered if row["times"] != 1
    ]
    # Order numbers, which the workflow's stage gives: each once.
    numbers = [output["Order"]["Payload"]["orderNumber"] for output in outputs]
    assert len(set(numbers)) == len(arns), numbers
