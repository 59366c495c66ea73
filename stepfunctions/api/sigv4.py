"""Signature Version 4 verification, as AWS checks a request before any operation runs.

The expected signature is computed over the headers the client says it signed, then compared in
constant time. Refusals carry the error codes AWS gives for each case. A plain request (no query
string, a path and Host of ordinary characters: every boto3 and CLI call) has its canonical
request written here, as botocore's signer writes it (`test_api_sigv4` compares the two), with the
derived signing key kept per secret, date, region and service; any other request goes through
botocore's signer itself.
"""

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path
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
# A path and Host that urlsplit and botocore's path normalisation leave as they are (dot segments
# and repeated slashes aside, normalised below as botocore does): the plain request's way.
_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.:-]*$")
_PAYLOAD_HEADER = "x-amz-content-sha256"


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

    values = {name: headers.get(name, "") for name in signed}
    host = values["host"]
    if query_string or not (_PLAIN_PATH.match(path) and _PLAIN_HOST.match(host)):
        expected = _botocore_signature(method, path, query_string, values, body, amz_date,
                                       key.secret_access_key, match["region"])  # fmt: skip
    else:
        canonical = canonical_request(method, path, values, body)
        scope = f"{amz_date[:8]}/{match['region']}/{SERVICE}/aws4_request"
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
        signing_key = _signing_key(key.secret_access_key, amz_date[:8], match["region"])
        expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["sig"]):
        raise _mismatch()
    return key


def canonical_request(method: str, path: str, values: Mapping[str, str], body: bytes) -> str:
    """The canonical request of a plain request (no query string, a plain path) over the signed
    headers' `values` (lower-case names), as botocore's SigV4Auth.canonical_request writes it:
    its blacklisted headers left out, each value's runs of whitespace made one space, the payload
    hash the signed x-amz-content-sha256 header's when it is signed, the body's otherwise."""
    names = sorted(name for name in values if name not in SIGNED_HEADERS_BLACKLIST)
    lines = "\n".join(f"{name}:{' '.join(values[name].split())}" for name in names)
    signed_hash = values.get(_PAYLOAD_HEADER)
    payload = hashlib.sha256(body).hexdigest() if signed_hash is None else signed_hash
    return f"{method.upper()}\n{_canonical_path(path)}\n\n{lines}\n\n{';'.join(names)}\n{payload}"


@functools.lru_cache(maxsize=64)
def _canonical_path(path: str) -> str:
    return quote(normalize_url_path(path), safe="/~")


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str) -> bytes:
    """SigV4's key derived from the secret for one day, region and service (AWS's own clients
    keep it the same way): four HMACs a request fewer."""
    derived = f"AWS4{secret}".encode()
    for part in (date, region, SERVICE, "aws4_request"):
        derived = hmac.new(derived, part.encode(), hashlib.sha256).digest()
    return derived


def _botocore_signature(method: str, path: str, query_string: str, values: Mapping[str, str],
                        body: bytes, amz_date: str, secret: str, region: str) -> str:  # fmt: skip
    """The signature botocore's own signer computes for the request: any request's way."""
    request = AWSRequest(
        method=method,
        url=f"http://{values['host']}{path}" + (f"?{query_string}" if query_string else ""),
        headers=dict(values),
        data=body,
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("", secret), SERVICE, region)
    return signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
