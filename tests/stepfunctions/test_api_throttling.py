"""The Step Functions API's rate limits per access key: callbacks and starts past their limit are
answered ThrottlingException (HTTP 400) as AWS answers them, which boto3 retries with backoff;
other keys and other operations go on; the next window lets the key in again."""

import json
from datetime import timedelta

import pytest
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError
from django.contrib.auth import get_user_model
from django.utils import timezone

from stepfunctions.models import Execution
from stepfunctions.services.access_keys import access_key_create
from tests.conftest import SEED_INPUT
from tests.stepfunctions.conftest import MACHINE_NAME

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("machine")]
MACHINE_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{MACHINE_NAME}"
UNKNOWN_TOKEN = "A" * 64


@pytest.fixture
def small_limits(rate_limits):
    """Three callbacks and two starts per key per minute."""
    rate_limits({"sfn-callbacks": (3, 60.0), "sfn-starts": (2, 60.0)})


def _code(call) -> tuple[str, int]:
    try:
        call()
    except ClientError as error:
        response = error.response
        return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
    return "ok", 200


def _start(sfn) -> tuple[str, int]:
    return _code(
        lambda: sfn.start_execution(stateMachineArn=MACHINE_ARN, input=json.dumps(SEED_INPUT))
    )


def test_callbacks_past_the_limit_are_throttled_per_key(small_limits, make_sfn, sfn_key):
    sfn = make_sfn(sfn_key)
    guesses = [_code(lambda: sfn.send_task_heartbeat(taskToken=UNKNOWN_TOKEN)) for _ in range(3)]
    assert guesses == [("InvalidToken", 400)] * 3
    # The fourth, of any callback kind, is throttled before the token is even looked at.
    assert _code(lambda: sfn.send_task_success(taskToken=UNKNOWN_TOKEN, output="{}")) == (
        "ThrottlingException",
        400,
    )
    assert _code(lambda: sfn.send_task_failure(taskToken=UNKNOWN_TOKEN)) == (
        "ThrottlingException",
        400,
    )
    # Reads are not throttled, and another key has its own count.
    assert sfn.list_state_machines()["stateMachines"]
    other = access_key_create(user=get_user_model().objects.create_user("other"), grants=["all"])
    assert _code(lambda: make_sfn(other).send_task_heartbeat(taskToken=UNKNOWN_TOKEN)) == (
        "InvalidToken",
        400,
    )


def test_starts_past_the_limit_are_throttled_and_start_nothing(small_limits, make_sfn, sfn_key):
    sfn = make_sfn(sfn_key)
    assert [_start(sfn), _start(sfn)] == [("ok", 200)] * 2
    assert _start(sfn) == ("ThrottlingException", 400)
    assert Execution.objects.count() == 2


def test_boto3_backs_off_and_retries_a_throttled_call(small_limits, make_sfn, sfn_key):
    sfn = make_sfn(sfn_key, config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    for _ in range(2):
        sfn.start_execution(stateMachineArn=MACHINE_ARN, input=json.dumps(SEED_INPUT))
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=MACHINE_ARN, input=json.dumps(SEED_INPUT))
    response = caught.value.response
    # botocore took it for throttling: it tried twice more (with backoff) before giving up.
    assert (response["Error"]["Code"], response["ResponseMetadata"]["RetryAttempts"]) == (
        "ThrottlingException",
        2,
    )


def test_the_next_window_lets_the_key_in_again(small_limits, make_sfn, sfn_key):
    sfn = make_sfn(sfn_key)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert [_start(sfn) for _ in range(3)][-1] == ("ThrottlingException", 400)
        clock.shift(timedelta(seconds=61))
        assert _start(sfn) == ("ok", 200)
