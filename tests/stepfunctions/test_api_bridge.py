"""serverlesspresso.api_bridge: the Step Functions API's path through the web server, driven as
uvicorn drives it (ASGI messages), with a request signed as boto3 signs."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.db import connections

from serverlesspresso.api_bridge import ApiBridge, ApiHandler

pytestmark = pytest.mark.usefixtures("machine")


def _scope_and_body(key, operation: str, body: bytes) -> tuple[dict, bytes]:
    request = AWSRequest(
        method="POST",
        url="http://testserver/sfn/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        },
    )
    SigV4Auth(
        Credentials(key.access_key_id, key.secret_access_key), "states", "us-east-1"
    ).add_auth(request)
    headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    headers += [(n.lower().encode(), v.encode()) for n, v in request.headers.items()]
    scope = {
        "type": "http", "method": "POST", "path": "/sfn/", "query_string": b"",
        "http_version": "1.1", "headers": headers, "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000), "scheme": "http", "root_path": "",
    }  # fmt: skip
    return scope, body


def _serve(scope: dict, chunks: list[bytes], limit: int = 262144) -> tuple[dict, bytes]:
    """The bridge's answer: its start message (status, headers as a dict) and its body."""
    sent: list[dict] = []
    with ThreadPoolExecutor(1) as pool:
        bridge = ApiBridge(ApiHandler(), pool, limit)
        messages = [
            {"type": "http.request", "body": c, "more_body": n < len(chunks) - 1}
            for n, c in enumerate(chunks)
        ]

        async def receive():
            return messages.pop(0)

        async def send(message):
            sent.append(message)

        # On a loop of its own thread: the browser tests' driver may leave one in this thread.
        with ThreadPoolExecutor(1) as loop_thread:
            loop_thread.submit(asyncio.run, bridge(scope, receive, send)).result()
        pool.submit(connections.close_all).result()
    start, body = sent
    return {**start, "headers": dict(start["headers"])}, body["body"]


def test_a_call_is_answered_with_the_security_headers_and_nothing_of_the_pages(sfn_key):
    scope, body = _scope_and_body(sfn_key, "ListStateMachines", b"{}")
    start, answer = _serve(scope, [body[:1], body[1:]])
    assert start["status"] == 200
    assert "CallbackWorkflow" in {m["name"] for m in json.loads(answer)["stateMachines"]}
    assert start["headers"][b"content-type"] == b"application/x-amz-json-1.0"
    assert start["headers"][b"x-content-type-options"] == b"nosniff"
    assert b"set-cookie" not in start["headers"]
    assert b"content-security-policy" not in start["headers"]


def test_a_body_over_the_limit_is_refused(sfn_key, settings):
    settings.SFN_MAX_BODY_BYTES = 50
    scope, body = _scope_and_body(sfn_key, "ListStateMachines", b"{}" + b" " * 100)
    start, answer = _serve(scope, [body[:60], body[60:80], body[80:]], limit=50)
    assert start["status"] == 400
    assert json.loads(answer)["__type"].endswith("#ValidationException")


def test_a_bad_signature_is_refused(sfn_key):
    scope, body = _scope_and_body(sfn_key, "ListStateMachines", b"{}")
    start, answer = _serve(scope, [b"{ }"])
    assert start["status"] == 400
    assert json.loads(answer)["__type"].endswith("#InvalidSignatureException")
