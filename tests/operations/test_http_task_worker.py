"""The HTTP Task on real processes: gunicorn, the stages' worker, the task queue's worker and beat,
with HTTP_TASK_ALLOWED_HOSTS=127.0.0.1 from their environment, calling a real HTTP server in the
test's process. The call runs on the task worker (never the stages' worker); a basic-auth
connection authorizes it without its password reaching history, the API or the workers' logs;
a 503 is caught, a slow server times out, a host the setting does not name is refused."""

import json
from types import SimpleNamespace

import pytest

from stepfunctions.models import Connection, Execution
from tests.conftest import sfn_client, wait_for
from tests.http_server import local_server
from tests.processes import private_redis, production_processes

pytestmark = pytest.mark.integration
PASSWORD = "worker-basic-password-31415"
ROLE = "arn:aws:iam::123456789012:role/Tests"


def definition(connection_arn: str) -> dict:
    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint.$": "$.url",
            "Method": "GET",
            "Authentication": {"ConnectionArn": connection_arn},
        },
        "TimeoutSecondsPath": "$.timeout",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "ResultSelector": {"status.$": "$.StatusCode", "body.$": "$.ResponseBody"},
        "End": True,
    }
    return {"StartAt": "Call", "States": {"Call": call, "Caught": {"Type": "Pass", "End": True}}}


def test_http_tasks_run_on_the_task_worker(tmp_path, sfn_key):
    connection = Connection.objects.create(
        name="worker-basic", authorization_type="BASIC", username="shop", password=PASSWORD
    )
    env = {"HTTP_TASK_ALLOWED_HOSTS": "127.0.0.1"}
    with (
        local_server() as server,
        private_redis() as url,
        production_processes(url, tmp_path, **env) as processes,
    ):
        sfn = sfn_client(SimpleNamespace(url=processes.gunicorn()), sfn_key)
        processes.worker(concurrency=1)  # the stages
        processes.worker("tasks", "-Q", "stepfunctions-tasks", concurrency=2)
        processes.beat()  # the token sweep times the slow call out
        processes.pool_wait("tasks", 2)
        machine = sfn.create_state_machine(
            name="HttpOnWorkers", definition=json.dumps(definition(connection.arn)), roleArn=ROLE
        )
        urls = {
            "ok": f"{server.url}/echo",
            "unavailable": f"{server.url}/status/503",
            "slow": f"{server.url}/slow?seconds=5",
            "refused": f"http://127.0.0.2:{server.port}/echo",
        }
        arns = {
            case: sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"],
                name=case,
                input=json.dumps({"url": u, "timeout": 3 if case == "slow" else 60}),
            )["executionArn"]
            for case, u in urls.items()
        }
        wait_for(
            lambda: not Execution.objects.filter(status=Execution.Status.RUNNING).exists(),
            timeout=120, interval=0.2, message="the executions to end",
        )  # fmt: skip
        described = {case: sfn.describe_execution(executionArn=arn) for case, arn in arns.items()}
        histories = [sfn.get_execution_history(executionArn=arn) for arn in arns.values()]
        logs = {name: processes.log(name) for name in ("tasks", "worker", "web")}

    outputs = {case: json.loads(answer["output"]) for case, answer in described.items()}
    assert outputs["ok"] == {"status": 200, "body": {"method": "GET", "path": "/echo",
                                                      "greeting": "hello"}}  # fmt: skip
    assert server.last("/echo").headers["Authorization"].startswith("Basic ")
    assert outputs["unavailable"]["error"]["Error"] == "States.Http.StatusCode.503"
    assert outputs["slow"]["error"]["Error"] == "States.Timeout"
    assert outputs["refused"]["error"]["Error"] == "Http.HostNotAllowed"
    assert "127.0.0.2 (loopback)" in outputs["refused"]["error"]["Cause"]
    assert [r.path for r in server.received].count("/echo") == 1  # the refused one never came
    # The calls ran on the task queue's worker, never the stages' worker.
    assert "run_celery_task[" in logs["tasks"] and "run_celery_task[" not in logs["worker"]
    text = json.dumps([described, histories], default=str) + "".join(logs.values())
    assert PASSWORD not in text
