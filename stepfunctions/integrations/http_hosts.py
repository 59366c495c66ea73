"""Which hosts the HTTP Task may call, and its one request to them (urllib3).

Which hosts it may call: settings.HTTP_TASK_ALLOWED_HOSTS, checked against the
address a host name RESOLVES to (so a public name pointing at 127.0.0.1 is refused as 127.0.0.1
is), and the call then made to that checked address (a second lookup cannot swap it).

Entries (comma-separated in the environment variable of the same name):
- `public` (the default): any public address; loopback, private, link-local, shared, reserved,
  multicast and unspecified addresses (IPv4-mapped IPv6 forms included) are refused;
- a host name (`api.example.com`, exact, any case): that name, whatever it resolves to;
- an address or a network (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`): those addresses;
- `*`: everything.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import urllib3
from django.conf import settings

from stepfunctions.workflow import StatesError

PUBLIC = "public"
ANY = "*"
HOST_NOT_ALLOWED = "Http.HostNotAllowed"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Allowed:
    """The setting, read: whether everything or any public address is allowed, and the names
    and networks allowed besides."""

    everything: bool
    public: bool
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def allowed_read(entries: list[str] | tuple[str, ...] | str) -> Allowed:
    """The setting's entries (a list, or the environment's comma-separated text), read.
    An entry that is neither a keyword, an address nor a network is a host name."""
    if isinstance(entries, str):
        entries = entries.split(",")
    names, networks = set(), []
    cleaned = [entry.strip() for entry in entries if entry.strip()]
    for entry in cleaned:
        if entry in (ANY, PUBLIC):
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return Allowed(ANY in cleaned, PUBLIC in cleaned, frozenset(names), tuple(networks))


def _plain(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (::ffff:127.0.0.1) as the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _kind(address: Address) -> str:
    """Why a non-public address is not public, in the error's words."""
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


def address_allowed(address: Address, allowed: Allowed) -> bool:
    address = _plain(address)
    if allowed.everything or any(address in network for network in allowed.networks):
        return True
    return allowed.public and address.is_global


def resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, in the resolver's order (a literal address as itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise StatesError(
            "States.Http.Socket", f"Could not resolve host {host!r}: {error}"
        ) from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def address_for(host: str, port: int, *, entries=None) -> str:
    """The address to connect to for `host`: the first of its resolved addresses that the
    setting allows (every one of them, when the host name itself is allowed). Raises
    StatesError Http.HostNotAllowed, saying what the host resolved to and why it was refused."""
    allowed = allowed_read(settings.HTTP_TASK_ALLOWED_HOSTS if entries is None else entries)
    addresses = resolve(host, port)
    if allowed.everything or host.lower().rstrip(".") in allowed.names:
        return str(addresses[0])
    for address in addresses:
        if address_allowed(address, allowed):
            return str(address)
    refused = ", ".join(f"{address} ({_kind(_plain(address))})" for address in addresses)
    raise StatesError(
        HOST_NOT_ALLOWED,
        f"The HTTP Task may not call {host!r}: it resolves to {refused}, which "
        "HTTP_TASK_ALLOWED_HOSTS does not allow (by default only public addresses; add the "
        "host name, address or network to the setting, or * for every host)",
    )


# --- one request to a checked address, redirects followed and checked hop by hop --------------
SOCKET = "States.Http.Socket"
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, list[str]]  # lower-case names, every value in order
    body: bytes
    truncated: bool  # more than `max_bytes` came: `body` holds the first max_bytes + 1


def _origin(url: urllib3.util.Url) -> tuple:
    return (url.scheme, (url.host or "").lower(), url.port or _PORTS.get(url.scheme or ""))


def _pool(url: urllib3.util.Url, address: str, port: int, timeout: float):
    host = (url.host or "").strip("[]")
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if url.scheme == "https":
        # Connected to the checked address; the certificate is checked for the host's name.
        return urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
            **options,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(address, port, **options)


def request(method: str, url: str, *, headers: dict[str, str], body: bytes | None,
            secret_headers: dict[str, str], timeout: float, max_bytes: int) -> Response:  # fmt: skip
    """Sends the request to the address `address_for` allows, with `secret_headers` (the
    connection's authorization) only to the first URL's origin; follows up to MAX_REDIRECTS
    redirects, each to a host checked again. Raises StatesError: Http.HostNotAllowed, or
    States.Http.Socket when no answer came (refused, reset, TLS, `timeout` seconds passed)."""
    deadline = time.monotonic() + timeout
    first = urllib3.util.parse_url(url)
    for hop in range(MAX_REDIRECTS + 1):
        parsed = urllib3.util.parse_url(url)
        if parsed.scheme not in _PORTS or not parsed.host:
            raise StatesError(SOCKET, f"Not an http(s) URL: {url!r}")
        port = parsed.port or _PORTS[parsed.scheme]
        address = address_for(parsed.host, port)
        sent = {**headers, "Host": parsed.netloc}
        if _origin(parsed) == _origin(first):
            sent.update(secret_headers)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StatesError(SOCKET, f"No answer from {parsed.host} in {timeout:.0f} seconds")
        try:
            with _pool(parsed, address, port, remaining) as pool:
                answer = pool.urlopen(
                    method, parsed.request_uri, body=body, headers=sent, redirect=False,
                    retries=False, preload_content=False, assert_same_host=False,
                )  # fmt: skip
                try:
                    location = answer.headers.get("Location")
                    if answer.status in _REDIRECTS and location and hop < MAX_REDIRECTS:
                        url = urljoin(url, location)
                        if answer.status == 303 or (
                            answer.status in (301, 302) and method == "POST"
                        ):
                            method = "GET" if method != "HEAD" else method
                            body = None
                            headers = {k: v for k, v in headers.items()
                                       if k.lower() != "content-type"}  # fmt: skip
                        continue
                    data = answer.read(max_bytes + 1)
                    names = dict.fromkeys(answer.headers)
                    return Response(
                        answer.status, answer.reason or "",
                        {name.lower(): answer.headers.getlist(name) for name in names},
                        data, len(data) > max_bytes,
                    )  # fmt: skip
                finally:
                    answer.release_conn()
        except urllib3.exceptions.HTTPError as error:
            reason = type(error).__name__
            raise StatesError(SOCKET, f"{reason} calling {parsed.host}:{port}") from None
    raise AssertionError("unreachable")  # the last hop returns or raises
