"""A PostgreSQL restart and a stop, on a cluster of the test's own (a copy of the test database):
the web answers no 500 during either (a retryable 503 while it cannot serve), none after, and
answers again within a second or so of the database coming back. The machine's shared
PostgreSQL is never restarted or stopped."""

import time

import pytest
from django.db import connection

from tests.conftest import wait_for
from tests.operations.web_clients import server_errors
from tests.operations.web_faults import PrivatePostgres, http, web_start

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL cluster's restart"),
]


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().init()
    try:
        yield server
    finally:
        server.close()


def test_a_restart_and_a_stop_answer_no_500(shop, clients, private_postgres):
    shop.env["DATABASE_URL"] = private_postgres.copy(connection.settings_dict)
    web = clients(web_start(shop))
    assert server_errors(web.rounds(16)) == []

    private_postgres.restart()
    # Every kept connection died with the old server: each is replaced at its next request.
    after_restart = web.rounds(16)
    assert server_errors(after_restart) == [], after_restart

    private_postgres.stop()
    stopped = web.rounds(8)
    assert {status for answer in stopped for status in answer.values()} == {503}, stopped
    assert http(f"{web.web}/health/ready?check=database").status == 503

    private_postgres.start()
    back = time.monotonic()
    wait_for(
        lambda: not server_errors(web.rounds(8)), timeout=15, interval=0,
        message="every call answering again",
    )  # fmt: skip
    print(f"calls answering again {time.monotonic() - back:.2f}s after the start")
    assert server_errors(web.rounds(16)) == []
    log = shop.log("web")
    assert "Internal Server Error" not in log and "Traceback" not in log, log[-3000:]
