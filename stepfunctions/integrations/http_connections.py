"""The HTTP Task's Authentication: a ConnectionArn read into the headers that authorize a call,
in the task worker only (stepfunctions.models.connections holds the connections).

`arn:aws:events:<region>:<account>:connection/<name>/<id>` names the connection `<name>` of this
engine's region and account; the `/<id>` part (the connection's id, as AWS's ARNs end) may be
left out, and when given must be that connection's, so an ARN of a deleted and re-created
connection of the same name is refused rather than silently sent the new one's secrets.

OAuth client credentials: a token is asked of the authorization endpoint (through the same host
check as the call) with the client id and secret as basic authorization and
`grant_type=client_credentials`, and kept in this process until shortly before it expires, or
until the API answers 401 with it, or the connection is changed.
"""

import base64
import json
import re
import threading
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings

from stepfunctions.integrations.http_hosts import request
from stepfunctions.models import Connection
from stepfunctions.workflow import StatesError

INVALID = "Http.InvalidParameters"
CONNECTION_NOT_FOUND = "Http.ConnectionNotFound"
OAUTH_FAILED = "Http.OAuthTokenFailed"
_ARN = re.compile(
    r"^arn:aws:events:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):connection/"
    r"(?P<name>[.\-_A-Za-z0-9]{1,64})(?:/(?P<id>[0-9a-fA-F-]{36}))?$"
)
# A token is renewed this long before the expiry its endpoint gave (its `expires_in`).
_EARLY_SECONDS = 30
_DEFAULT_EXPIRES_SECONDS = 300
_MAX_TOKEN_ANSWER = 65_536
_tokens: dict[tuple, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def connection_arn_check(arn: object) -> None:
    """Raises StatesError Http.InvalidParameters unless `arn` is shaped as a connection's ARN."""
    if not isinstance(arn, str) or not _ARN.match(arn):
        raise StatesError(
            INVALID,
            "Authentication.ConnectionArn must be arn:aws:events:<region>:<account>:"
            "connection/<name>[/<id>]",
        )


def connection_find(arn: str) -> Connection:
    """The connection `arn` names; StatesError Http.ConnectionNotFound when there is none."""
    connection_arn_check(arn)
    match = _ARN.match(arn)
    here = (settings.AWS_REGION, settings.AWS_ACCOUNT_ID)
    connection = None
    if (match["region"], match["account"]) == here:
        connection = Connection.objects.filter(name=match["name"]).first()
    if connection is None or (match["id"] and match["id"].lower() != str(connection.connection_id)):
        raise StatesError(CONNECTION_NOT_FOUND, f"Connection not found: {arn}")
    return connection


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def authorization_headers(connection: Connection, *, deadline: float) -> dict[str, str]:
    """The headers that authorize a call with `connection` (its secrets: send, never record)."""
    kind = Connection.AuthorizationType
    if connection.authorization_type == kind.API_KEY:
        return {connection.api_key_name: connection.api_key_value}
    if connection.authorization_type == kind.BASIC:
        return {"Authorization": _basic(connection.username, connection.password)}
    return {"Authorization": f"Bearer {_oauth_token(connection, deadline=deadline)}"}


def _cache_key(connection: Connection) -> tuple:
    return (connection.pk, connection.updated_at)


def oauth_token_forget(connection: Connection) -> None:
    """Drops the kept token (the API refused it): the next call asks for a new one."""
    with _tokens_lock:
        _tokens.pop(_cache_key(connection), None)


def _oauth_token(connection: Connection, *, deadline: float) -> str:
    key = _cache_key(connection)
    with _tokens_lock:
        kept = _tokens.get(key)
    if kept is not None and kept[1] > time.monotonic():
        return kept[0]
    parameters = connection.oauth_http_parameters or {}
    body = {"grant_type": "client_credentials", **parameters.get("BodyParameters", {})}
    headers = {**parameters.get("HeaderParameters", {})}
    url = connection.authorization_endpoint
    query = parameters.get("QueryStringParameters", {})
    if query:
        parts = urlsplit(url)
        joined = "&".join(part for part in (parts.query, urlencode(query)) if part)
        url = urlunsplit(parts._replace(query=joined))
    encoded = None
    if connection.oauth_http_method != "GET":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        encoded = urlencode(body).encode()
    answer = request(
        connection.oauth_http_method, url, headers=headers, body=encoded,
        secret_headers={"Authorization": _basic(connection.client_id, connection.client_secret)},
        timeout=max(deadline - time.monotonic(), 0.001), max_bytes=_MAX_TOKEN_ANSWER,
    )  # fmt: skip
    try:
        answered = json.loads(answer.body)
        token = answered["access_token"]
        expires = float(answered.get("expires_in") or _DEFAULT_EXPIRES_SECONDS)
    except (ValueError, TypeError, KeyError):
        answered = token = None
    if not 200 <= answer.status < 300 or not isinstance(token, str):
        # The endpoint's answer is not repeated: it may echo what was sent to it.
        raise StatesError(
            OAUTH_FAILED,
            f"The authorization endpoint of connection {connection.name!r} answered "
            f"{answer.status} {answer.reason} without an access_token",
        )
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic() + max(expires - _EARLY_SECONDS, 1))
    return token
