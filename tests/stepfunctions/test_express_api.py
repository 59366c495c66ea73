"""Express workflows through the API, with boto3 and the aws CLI against the live server, reached
past botocore's `sync-` host prefix as the README says: boto3's inject_host_prefix=False, the
CLI's AWS_DISABLE_HOST_PREFIX_INJECTION, or a name whose `sync-` form resolves too. And the
async view the ASGI path runs StartSyncExecution in."""

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from botocore.config import Config
from django.db import connections
from django.test import AsyncRequestFactory

from stepfunctions import services
from stepfunctions.api.sync_view import start_sync_execution_view
from stepfunctions.models import HistoryEvent
from tests.conftest import aws_cli
from tests.stepfunctions.test_express import small_workflow

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/unused"
NO_PREFIX = Config(retries={"max_attempts": 1, "mode": "standard"}, inject_host_prefix=False)


@pytest.fixture
def fast(make_sfn, sfn_key):
    """boto3 without the host prefix, and an EXPRESS machine ("Fast") made through it."""
    sfn = make_sfn(sfn_key, config=NO_PREFIX)
    sfn.machine = sfn.create_state_machine(
        name="Fast", definition=json.dumps(small_workflow()), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    return sfn


def test_start_sync_execution_with_boto3(fast):
    answer = fast.start_sync_execution(stateMachineArn=fast.machine, name="b1", input='{"n": 4}')
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"n": 8}
    assert answer["executionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:express:Fast:b1:"
    )
    assert answer["name"] == "b1" and answer["stateMachineArn"] == fast.machine
    assert answer["inputDetails"] == {"included": True} and answer["input"] == '{"n": 4}'
    assert answer["stopDate"] >= answer["startDate"]
    billed = answer["billingDetails"]
    ran = (answer["stopDate"] - answer["startDate"]).total_seconds() * 1000
    assert billed["billedMemoryUsedInMB"] == 64
    # By the 100 ms, 100 at the least, as AWS bills.
    assert billed["billedDurationInMilliseconds"] % 100 == 0
    assert max(100, ran) <= billed["billedDurationInMilliseconds"] < max(100, ran) + 101
    failed = fast.start_sync_execution(stateMachineArn=fast.machine, input='{"n": 60}')
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "TooBig",
        "n is over 100",
    )
    assert "output" not in failed
    bare = fast.start_sync_execution(
        stateMachineArn=fast.machine, input='{"n": 1}', includedData="METADATA_ONLY"
    )
    assert bare["inputDetails"] == {"included": False} and "input" not in bare
    assert "output" not in bare

    described = fast.describe_state_machine(stateMachineArn=fast.machine)
    assert described["type"] == "EXPRESS"
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    listed = fast.list_state_machines()["stateMachines"]
    assert [m["type"] for m in listed if m["name"] == "Fast"] == ["EXPRESS"]
    assert not HistoryEvent.objects.exists()


def test_what_aws_refuses_of_express_runs(fast):
    started = fast.start_execution(stateMachineArn=fast.machine, input='{"n": 1}')
    arn = started["executionArn"]
    assert ":express:Fast:" in arn
    calls = (fast.describe_execution, fast.get_execution_history, fast.stop_execution)
    for call in (*calls, fast.redrive_execution, fast.describe_state_machine_for_execution):
        with pytest.raises(fast.exceptions.InvalidArn) as refused:
            call(executionArn=arn)
        assert refused.value.response["Error"]["Message"] == (
            "Invalid Arn: 'Resource type not valid in this context: express'"
        )
    with pytest.raises(fast.exceptions.StateMachineTypeNotSupported):
        fast.list_executions(stateMachineArn=fast.machine)
    standard = fast.create_state_machine(
        name="Slow", definition=json.dumps(small_workflow()), roleArn=ROLE
    )["stateMachineArn"]
    with pytest.raises(fast.exceptions.StateMachineTypeNotSupported):
        fast.start_sync_execution(stateMachineArn=standard, input='{"n": 1}')
    with pytest.raises(fast.exceptions.InvalidDefinition) as refused:
        fast.create_state_machine(
            name="Callback",
            roleArn=ROLE,
            type="EXPRESS",
            definition=json.dumps(
                {
                    "StartAt": "Publish",
                    "States": {
                        "Publish": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "End": True,
                        }
                    },
                }
            ),
        )
    assert refused.value.response["Error"]["Message"].endswith(
        "'.waitForTaskToken' service integration  at /States/Publish/Resource'"
    )


def test_a_sync_run_past_its_timeout_answers_timed_out(fast):
    waits = {
        "TimeoutSeconds": 1,
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}},
    }
    machine = fast.create_state_machine(
        name="Waits", definition=json.dumps(waits), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    answer = fast.start_sync_execution(stateMachineArn=machine)
    assert (answer["status"], answer["error"]) == ("TIMED_OUT", "States.Timeout")
    assert "output" not in answer


def test_the_sync_prefixed_host_is_served(live_server, make_sfn, sfn_key, monkeypatch):
    """botocore's default: StartSyncExecution to `sync-localhost`, a name that resolves here as
    an /etc/hosts line would make it (the README's listening-name way)."""
    port = urlsplit(live_server.url).port
    resolve = socket.getaddrinfo

    def hosts_file(host, *args, **kwargs):
        return resolve("127.0.0.1" if host == "sync-localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hosts_file)
    sfn = make_sfn(sfn_key, endpoint_url=f"http://localhost:{port}/sfn/")
    machine = sfn.create_state_machine(
        name="Prefixed", definition=json.dumps(small_workflow()), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    answer = sfn.start_sync_execution(stateMachineArn=machine, input='{"n": 5}')
    assert json.loads(answer["output"]) == {"n": 10}


def test_start_sync_execution_with_the_aws_cli(live_server, sfn_key, fast):
    result = aws_cli(
        live_server,
        sfn_key,
        "start-sync-execution",
        "--state-machine-arn",
        fast.machine,
        "--input",
        '{"n": 3}',
        env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"n": 6}
    assert ":express:Fast:" in answer["executionArn"]


def test_the_async_view_waits_for_a_run_that_pauses(fast, settings):
    """The ASGI path's view: a run with a Wait state goes on in the ordinary stages (a worker's,
    or run here when due as a worker would) while the view awaits its end."""
    settings.SFN_ALLOW_ANONYMOUS = True
    pauses = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },  # fmt: skip
    }
    machine = fast.create_state_machine(
        name="Pauses", definition=json.dumps(pauses), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    request = AsyncRequestFactory().post(
        "/sfn/",
        data=json.dumps({"stateMachineArn": machine, "input": '{"a": 1}'}),
        content_type="application/x-amz-json-1.0",
        headers={"X-Amz-Target": "AWSStepFunctions.StartSyncExecution"},
    )

    async def scenario():
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            view = asyncio.ensure_future(start_sync_execution_view(request))
            await asyncio.sleep(1.2)  # the Wait's second
            if not view.done():  # no worker in this test session yet: run the stage as one would
                await sync_to_async(services.stages_run_due)()
            return await asyncio.wait_for(view, 5), loop.time() - started
        finally:
            await sync_to_async(connections.close_all)()

    with ThreadPoolExecutor(1) as pool:
        response, seconds = pool.submit(asyncio.run, scenario()).result()
    assert seconds >= 1  # answered at the run's end, after its Wait
    answer = json.loads(response.content)
    assert response.status_code == 200, answer
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"a": 1}
