"""Signature Version 4 verification, as AWS checks a request before any operation runs.

The expected signature is computed with botocore's own signer over the headers the client says it
signed, then compared in constant time. Refusals carry the error codes AWS gives for each case.
"""

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings

from stepfunctions.models import AccessKey
from stepfunctions.services.access_keys import access_key_find

SERVICE = "states"
_AUTHORIZATION_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/aws4_request\s*,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+)\s*,\s*Signature=(?P<sig>[0-9a-f]{64})$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class AuthError(Exception):
    """A request refused before its operation ran; `code` is the name AWS gives the refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _mismatch() -> AuthError:
    return AuthError(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
    )


def signature_verify(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
    permission: str | None = None,
) -> AccessKey:
    """The access key that signed this request; AuthError when the signature does not hold.

    The date must lie within SFN_MAX_CLOCK_SKEW_SECONDS of the server's clock either way, so a
    captured request cannot be replayed later; `host` and `x-amz-date` must be among the signed
    headers, and a signed payload hash must be the body's. `permission`, when given, is read
    with the key (stepfunctions.services.access_keys.access_key_permitted answers it).
    """
    authorization = headers.get("Authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTHORIZATION_RE.match(authorization.strip())
    if not match:
        raise AuthError(
            "IncompleteSignatureException",
            "Authorization header requires AWS4-HMAC-SHA256 Credential, SignedHeaders and "
            "Signature parameters.",
        )
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise AuthError(
            "IncompleteSignatureException", "The host and x-amz-date headers must be signed."
        )
    amz_date = headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise AuthError(
            "IncompleteSignatureException", "X-Amz-Date must be a date like 20240101T000000Z."
        ) from None
    now = now or datetime.now(UTC)
    skew = settings.SFN_MAX_CLOCK_SKEW_SECONDS
    if abs((now - signed_at).total_seconds()) > skew:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now outside {skew} seconds of "
            f"{now.strftime(_AMZ_DATE)}.",
        )
    if match["date"] != amz_date[:8] or match["service"] != SERVICE:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to {amz_date[:8]}/<region>/{SERVICE}/aws4_request.",
        )
    if match["region"] != settings.AWS_REGION:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region: this endpoint serves "
            f"'{settings.AWS_REGION}', not '{match['region']}'.",
        )
    key = access_key_find(access_key_id=match["key"], permission=permission)
    if key is None:
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    payload_hash = headers.get("X-Amz-Content-SHA256")
    if payload_hash is not None and payload_hash != hashlib.sha256(body).hexdigest():
        raise _mismatch()

    request = AWSRequest(
        method=method,
        url=f"http://{headers.get('Host', '')}{path}"
        + (f"?{query_string}" if query_string else ""),
        headers={name: headers.get(name, "") for name in signed},
        data=body,
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(key.access_key_id, key.secret_access_key), SERVICE, match["region"]
    )
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, match["sig"]):
        raise _mismatch()
    return key
