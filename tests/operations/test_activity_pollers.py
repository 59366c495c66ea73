"""Activity workers against the real web server: `manage.py runsystem` on the embedded defaults
(gunicorn's uvicorn workers serving serverlesspresso.asgi, the stages' and the sweeps' workers).

- Two hundred idle GetActivityTask polls (more than the web processes' request threads, 2 x 32)
  leave the rest of the API answering at once, then each ends empty after the poll's seconds,
  but for the one poll a task scheduled meanwhile is handed to (and to no other).
- The README's activity worker ("Your own workflows", `thumbnail_worker.py`), run exactly as
  written, does the README's state's work: a result, and an error its Catch takes.
"""

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.conftest import wait_for
from tests.system import REPO, answers_200, running_system

POLL_SECONDS = 8
POLLERS = 200
# An ordinary call while the pollers wait: a liveness bound well under the poll's seconds (a
# poll holding a request thread would make a call wait for the polls to end).
ANSWER_SECONDS = 3
_KEY_LINE = re.compile(
    r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_ENDPOINT_URL_SFN=(\S+)"
)
ROLE = "arn:aws:iam::123456789012:role/Activities"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("activities")
    # A poll looks at the database when it starts, then only when Redis announces a task (its
    # periodic look comes after the poll's end): a task scheduled while it waits reaches it by
    # the announcement alone.
    env = {"SFN_ACTIVITY_POLL_SECONDS": str(POLL_SECONDS), "SFN_ACTIVITY_RECHECK_SECONDS": "60"}
    with running_system(var_dir, env=env) as system:
        system.key = wait_for(
            lambda: system.alive() and _KEY_LINE.search(system.log()),
            timeout=90, interval=0.5, message="runsystem's key line",
        ).groups()  # fmt: skip
        wait_for(
            lambda: answers_200(f"{system.url}/admin/login/"),
            timeout=60, interval=0.5, message="the web server",
        )  # fmt: skip
        yield system


def client(system, **config):
    key_id, secret, endpoint = system.key
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


def _signed(system, activity_arn: str, worker: str) -> bytes:
    """One GetActivityTask request as boto3 sends it, signed with the development key."""
    key_id, secret, endpoint = system.key
    body = json.dumps({"activityArn": activity_arn, "workerName": worker}).encode()
    request = AWSRequest(
        method="POST",
        url=endpoint,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.GetActivityTask",
        },
    )
    SigV4Auth(Credentials(key_id, secret), "states", "us-east-1").add_auth(request)
    parts = urlsplit(endpoint)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def _dechunked(body: bytes) -> bytes:
    data = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            return data
        data, body = data + rest[:length], rest[length + 2 :]


async def _poll(port: int, request: bytes) -> tuple[int, dict, float]:
    """(status, answer, seconds) of one raw HTTP poll: a socket each, no thread each."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunked(body)
    return status, json.loads(body or b"{}"), time.monotonic() - started


def _polls(system, activity_arn: str) -> list[tuple[int, dict, float]]:
    async def scenario():
        requests = [_signed(system, activity_arn, f"idle-{n}") for n in range(POLLERS)]
        return await asyncio.gather(*(_poll(system.port, r) for r in requests))

    return asyncio.run(scenario())


def _timed(call) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_idle_pollers_do_not_slow_the_api_and_a_task_goes_to_one(system):
    sfn = client(system)
    activity = sfn.create_activity(name="idle-pollers")["activityArn"]
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
    }
    machine = sfn.create_state_machine(
        name="IdlePollers", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]

    def ordinary() -> None:
        sfn.describe_activity(activityArn=activity)
        sfn.list_state_machines()

    before = [_timed(ordinary) for _ in range(10)]
    with ThreadPoolExecutor(1) as pool:
        polls = pool.submit(_polls, system, activity)
        time.sleep(2)  # the pollers are connected and waiting
        assert not polls.done()
        during = [_timed(ordinary) for _ in range(20)]
        execution = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')
        answers = polls.result(timeout=POLL_SECONDS + 30)
    print(
        f"ordinary calls (DescribeActivity + ListStateMachines), median s: "
        f"{statistics.median(before):.3f} before, {statistics.median(during):.3f} with "
        f"{POLLERS} idle pollers (max {max(during):.3f})"
    )
    assert max(during) < ANSWER_SECONDS, during
    assert [status for status, _, _ in answers] == [200] * POLLERS
    handed = [answer for _, answer, _ in answers if "taskToken" in answer]
    assert len(handed) == 1, handed
    # Handed out when it was scheduled, not at the poll's end.
    assert [s for _, a, s in answers if "taskToken" in a][0] < POLL_SECONDS - 1
    assert json.loads(handed[0]["input"]) == {"n": 1}
    empty = [seconds for _, answer, seconds in answers if "taskToken" not in answer]
    assert len(empty) == POLLERS - 1 and min(empty) >= POLL_SECONDS - 0.5
    sfn.send_task_success(taskToken=handed[0]["taskToken"], output='{"done": true}')
    arn = execution["executionArn"]
    wait_for(
        lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED",
        timeout=30, interval=0.2, message="the execution's end",
    )  # fmt: skip
    events = sfn.get_execution_history(executionArn=arn)["events"]
    started = [e["activityStartedEventDetails"] for e in events if e["type"] == "ActivityStarted"]
    assert len(started) == 1 and started[0]["workerName"].startswith("idle-")


def readme_worker() -> tuple[str, str]:
    """ "Your own workflows"' activity worker (its `thumbnail_worker.py`) and the state after it."""
    text = (REPO / "README.md").read_text()
    worker = re.search(r"```python\n(# thumbnail_worker\.py\n.*?)```", text, flags=re.S)
    assert worker, "the README's thumbnail_worker.py"
    definition = re.search(r"```json\n(.*?)```", text[worker.end() :], flags=re.S)
    assert definition, "the README's definition after thumbnail_worker.py"
    return worker.group(1), definition.group(1)


def test_the_readmes_worker_runs_as_written(system, tmp_path):
    source, definition = readme_worker()
    assert len(source.strip().splitlines()) <= 21  # "a worker in twenty lines" (and its name)
    (tmp_path / "thumbnail_worker.py").write_text(source)
    key_id, secret, endpoint = system.key
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_ENDPOINT_URL_SFN": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    worker = subprocess.Popen(
        [sys.executable, "thumbnail_worker.py"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    sfn = client(system)
    try:
        wait_for(
            lambda: [a for a in sfn.list_activities()["activities"] if a["name"] == "thumbnails"],
            timeout=30, interval=0.2, message="the worker's create_activity",
        )  # fmt: skip
        machine = sfn.create_state_machine(name="Thumbnails", definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
        made = sfn.start_execution(stateMachineArn=machine, input='{"image": "cat.png"}')
        missing = sfn.start_execution(stateMachineArn=machine, input='{"name": "dog.png"}')

        def ended(arn: str) -> dict:
            return wait_for(
                lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING"
                and d,
                timeout=30, interval=0.2, message="the execution's end",
            )  # fmt: skip

        described = ended(made["executionArn"])
        assert described["status"] == "SUCCEEDED", (described, worker.poll() or "")
        output = json.loads(described["output"])
        assert output["thumbnail"] == {"image": "cat.png", "thumbnail": "cat-small.png"}
        caught = json.loads(ended(missing["executionArn"])["output"])
        assert caught["error"]["Error"] == "KeyError"  # the worker's failure, caught
        events = sfn.get_execution_history(executionArn=made["executionArn"])["events"]
        started = [e for e in events if e["type"] == "ActivityStarted"]
        assert started[0]["activityStartedEventDetails"] == {"workerName": "thumbnailer-1"}
        assert worker.poll() is None, worker.stdout.read()  # still polling
    finally:
        worker.terminate()
        worker.wait(10)


SYNC_RUNS = 80  # more than the web processes' request threads (2 x 32)


def test_sync_runs_that_pause_wait_without_request_threads(system):
    """StartSyncExecution goes to the engine's async view (the ASGI application routes it by its
    X-Amz-Target): eighty callers waiting for Express runs that pause leave the rest of the API
    answering at once, and each gets its run's end. boto3 past the `sync-` host prefix."""
    sfn = client(system, inject_host_prefix=False, max_pool_connections=SYNC_RUNS + 4,
                 read_timeout=60)  # fmt: skip
    pauses = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name="SyncPauses", definition=json.dumps(pauses), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    with ThreadPoolExecutor(SYNC_RUNS) as pool:
        runs = [
            pool.submit(sfn.start_sync_execution, stateMachineArn=machine, input=f'{{"n": {n}}}')
            for n in range(SYNC_RUNS)
        ]
        time.sleep(2)  # every run started, and waiting
        during = [_timed(sfn.list_state_machines) for _ in range(5)]
        answers = [run.result(timeout=60) for run in runs]
    assert max(during) < ANSWER_SECONDS, during
    assert [a["status"] for a in answers] == ["SUCCEEDED"] * SYNC_RUNS
    assert sorted(json.loads(a["output"])["n"] for a in answers) == list(range(SYNC_RUNS))
