"""Signed Step Functions requests through Django's test client: the whole protocol view (SigV4,
operation, permission, JSON, members) without a live server, for tests that send many bodies."""

import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

URL = "http://testserver/sfn/"


def signed_post(client, key, operation: str, body: bytes | str):
    """POSTs `body` as the named operation, signed with the access key as boto3 signs."""
    body = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    request = AWSRequest(
        method="POST",
        url=URL,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        },
    )
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    SigV4Auth(credentials, "states", "us-east-1").add_auth(request)
    headers = {name: value for name, value in request.headers.items() if name != "Content-Type"}
    headers["Host"] = "testserver"
    return client.generic(
        "POST", "/sfn/", data=body, content_type="application/x-amz-json-1.0", headers=headers
    )


def error_code(response) -> str:
    """The error code as botocore reads it (what follows '#' in __type)."""
    return json.loads(response.content)["__type"].rpartition("#")[2]
