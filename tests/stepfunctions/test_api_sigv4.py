"""Signature Version 4 on the Step Functions endpoint: who gets in, who is refused, with which code."""

import datetime as dt
import json
import urllib.error
import urllib.request

import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http.request import HttpHeaders

from stepfunctions.api.sigv4 import AuthError, canonical_request, signature_verify
from stepfunctions.models import AccessKey, Execution
from stepfunctions.services.access_keys import access_key_create, access_key_ensure_development

# The engine's test workflow, stored before each test (the coffee bar's is not installed).
pytestmark = pytest.mark.usefixtures("machine")

ORDER_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:CallbackWorkflow"
UNKNOWN_TOKEN = "A" * 64


def _code(caught: pytest.ExceptionInfo) -> str:
    return caught.value.response["Error"]["Code"]


@pytest.mark.parametrize("path", ["/sfn/", "/sfn"])
def test_a_valid_signature_gets_in(live_server, make_sfn, sfn_key, path):
    sfn = make_sfn(sfn_key, endpoint_url=live_server.url + path)
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert "CallbackWorkflow" in names


def test_a_wrong_secret_is_an_invalid_signature(make_sfn, sfn_key):
    sfn = make_sfn(sfn_key, aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as caught:
        sfn.list_state_machines()
    assert _code(caught) == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_unknown_or_inactive_key_is_unrecognized(make_sfn, sfn_key):
    sfn = make_sfn(sfn_key, aws_access_key_id="AKIAUNKNOWNUNKNOWN00")
    with pytest.raises(ClientError) as caught:
        sfn.list_state_machines()
    assert _code(caught) == "UnrecognizedClientException"

    AccessKey.objects.filter(pk=sfn_key.pk).update(is_active=False)
    with pytest.raises(ClientError) as caught:
        make_sfn(sfn_key).list_state_machines()
    assert _code(caught) == "UnrecognizedClientException"


@pytest.mark.parametrize("minutes", [-20, 20])
def test_a_date_outside_the_allowed_skew_is_refused(make_sfn, sfn_key, monkeypatch, minutes):
    signed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=minutes)
    # botocore's signer reads its clock here; the server keeps the real one.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    with pytest.raises(ClientError) as caught:
        make_sfn(sfn_key).list_state_machines()
    assert _code(caught) == "InvalidSignatureException"
    assert "Signature expired" in caught.value.response["Error"]["Message"]


def test_a_signature_within_the_skew_is_accepted(make_sfn, sfn_key, monkeypatch):
    signed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=4)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    assert "stateMachines" in make_sfn(sfn_key).list_state_machines()


def test_another_region_in_the_scope_is_refused(make_sfn, sfn_key):
    sfn = make_sfn(sfn_key, region_name="eu-west-1")
    with pytest.raises(ClientError) as caught:
        sfn.list_state_machines()
    assert _code(caught) == "InvalidSignatureException"
    assert "us-east-1" in caught.value.response["Error"]["Message"]


def test_unsigned_requests_are_refused_unless_the_setting_allows_them(
    make_sfn, settings, transactional_db
):
    sfn = make_sfn(
        type("NoKey", (), {"access_key_id": None, "secret_access_key": None})(),
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        sfn.list_state_machines()
    assert _code(caught) == "MissingAuthenticationTokenException"
    settings.SFN_ALLOW_ANONYMOUS = True
    assert "stateMachines" in sfn.list_state_machines()


def test_permissions_are_granted_per_operation(make_sfn, transactional_db):
    users = get_user_model().objects
    callbacks_only = access_key_create(
        user=users.create_user(username="barista-app"), grants=["send-callbacks"]
    )
    sfn = make_sfn(callbacks_only)
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=ORDER_ARN, input="{}")
    assert _code(caught) == "AccessDeniedException"
    assert "states:StartExecution" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        sfn.list_state_machines()
    assert _code(caught) == "AccessDeniedException"
    # Allowed through to the operation: the refusal is about the token, not the key.
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_heartbeat(taskToken=UNKNOWN_TOKEN)

    starter = access_key_create(
        user=users.create_user(username="kiosk"), grants=["start-executions"]
    )
    sfn = make_sfn(starter)
    sfn.start_execution(stateMachineArn=ORDER_ARN, input=json.dumps({"detail": {"orderId": "k"}}))
    with pytest.raises(ClientError) as caught:
        sfn.send_task_heartbeat(taskToken=UNKNOWN_TOKEN)
    assert _code(caught) == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:
        sfn.create_state_machine(name="X", definition="{}", roleArn="arn:aws:iam::1:role/x")
    assert _code(caught) == "AccessDeniedException"
    assert Execution.objects.count() == 1


def test_create_access_key_command_prints_a_working_key(make_sfn, transactional_db, capsys):
    call_command("create-access-key", "--username", "ops", "--create-user", "--grant", "read")
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    key = AccessKey.objects.get(access_key_id=printed["AWS_ACCESS_KEY_ID"])
    assert key.access_key_id.startswith("AKIA") and len(key.access_key_id) == 20
    assert printed["AWS_SECRET_ACCESS_KEY"] == key.secret_access_key
    sfn = make_sfn(key)
    assert sfn.list_state_machines()["stateMachines"]
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=ORDER_ARN)
    assert _code(caught) == "AccessDeniedException"


def test_the_development_key_is_made_once_with_every_permission(make_sfn, transactional_db):
    key = access_key_ensure_development()
    assert access_key_ensure_development() == key
    for permission in ("start_executions", "send_callbacks", "manage_state_machines", "read"):
        assert key.user.has_perm(f"stepfunctions.sfn_{permission}")
    assert make_sfn(key).list_state_machines()["stateMachines"]


def test_a_body_changed_after_signing_is_refused(live_server, sfn_key):
    signed = json.dumps({"stateMachineArn": ORDER_ARN}).encode()
    request = AWSRequest(
        method="POST",
        url=live_server.url + "/sfn/",
        data=signed,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.DescribeStateMachine",
        },
    )
    credentials = Credentials(sfn_key.access_key_id, sfn_key.secret_access_key)
    botocore.auth.SigV4Auth(credentials, "states", "us-east-1").add_auth(request)
    tampered = json.dumps({"stateMachineArn": ORDER_ARN.replace("Callback", "Other")}).encode()
    headers = dict(request.prepare().headers)
    headers["Content-Length"] = str(len(tampered))
    raw = urllib.request.Request(request.url, data=tampered, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(raw, timeout=10)
    answer = json.loads(caught.value.read())
    assert caught.value.code == 400
    assert answer["__type"].endswith("#InvalidSignatureException")


# Signed headers as clients send them: botocore's own set, a signed payload hash, runs of
# whitespace in a value, a header botocore never signs (user-agent), and a repeated name.
_SIGNED_VARIANTS = [
    {},
    {"X-Amz-Content-SHA256": "{hash}"},
    {"X-Custom": "  two   spaces\tand a tab  "},
    {"User-Agent": "aws-cli/2"},
]


@pytest.mark.parametrize("extra", _SIGNED_VARIANTS)
@pytest.mark.parametrize("path", ["/sfn/", "/sfn", "/sfn/./x/../", "/sfn//"])
def test_the_canonical_request_is_botocores(extra, path):
    body = b'{"stateMachineArn": "x"}'
    headers = {"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Host": "127.0.0.1:8000",
               "X-Amz-Date": "20260101T000000Z"}  # fmt: skip
    payload_hash = botocore.auth.sha256(body).hexdigest()
    headers.update({name: value.format(hash=payload_hash) for name, value in extra.items()})
    values = {name.lower(): value for name, value in headers.items()}
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:8000{path}", data=body,
                         headers=headers)  # fmt: skip
    signer = botocore.auth.SigV4Auth(Credentials("AKIA", "s" * 40), "states", "us-east-1")
    assert canonical_request("POST", path, values, body) == signer.canonical_request(request)


@pytest.mark.parametrize(
    ("path", "query", "host"),
    [("/sfn/", "", "testserver"), ("/sfn/", "b=2&a=1", "testserver"),
     ("/sfn/%7Ex y", "", "testserver"), ("/sfn/", "", "[::1]:8000")],
)  # fmt: skip
def test_a_signature_is_checked_as_botocore_signs_plain_or_not(sfn_key, path, query, host):
    """The plain request's way and botocore's (a query string, an unusual path or Host) accept
    the signature botocore makes and refuse a changed one."""

    body = b"{}"
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"})  # fmt: skip
    credentials = Credentials(sfn_key.access_key_id, sfn_key.secret_access_key)
    botocore.auth.SigV4Auth(credentials, "states", "us-east-1").add_auth(request)
    meta = {"HTTP_" + n.upper().replace("-", "_"): v for n, v in request.headers.items()}
    meta["HTTP_HOST"] = host

    def verify(sent: dict) -> object:
        return signature_verify(method="POST", path=path, query_string=query,
                                headers=HttpHeaders(sent), body=body)  # fmt: skip

    assert verify(meta) == sfn_key
    tampered = {**meta, "HTTP_X_AMZ_TARGET": "AWSStepFunctions.DeleteStateMachine"}
    with pytest.raises(AuthError) as caught:
        verify(tampered)
    assert caught.value.code == "InvalidSignatureException"
