"""The README's Step Functions examples against `manage.py runsystem` on the embedded defaults.

runsystem prints a development key; the aws CLI, given only the three variables it printed (no
--endpoint-url), runs the seed's testing section against gunicorn, the worker and beat.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.conftest import SEED_INPUT, wait_for
from tests.system import answers_200, running_system, scheduled_tokens

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
_KEY_LINE = re.compile(
    r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_ENDPOINT_URL_SFN=(\S+)"
)


@pytest.mark.integration
def test_readme_examples_with_the_printed_development_key(tmp_path):
    with running_system(tmp_path) as system:

        def printed_key():
            match = system.alive() and _KEY_LINE.search(system.log())
            return match and answers_200(f"{system.url}/admin/login/") and match

        key_id, secret, endpoint = wait_for(
            printed_key, timeout=60, interval=0.5, message="the key line"
        ).groups()
        assert endpoint == f"{system.url}/sfn/"
        cli_env = {
            "PATH": system.env.get("PATH", ""),
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
                return scheduled_tokens(
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
