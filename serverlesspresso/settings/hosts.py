"""The host names the web answers to, from the settings' lists and the public URL."""

from urllib.parse import urlsplit


def hosts_with(hosts: list[str], public_base_url: str) -> list[str]:
    """The allowed hosts plus the public URL's: a QR code must not point at a 400 Bad Request.
    Each name's `sync-` form too: botocore sends StartSyncExecution and TestState to the host
    `sync-<endpoint host>` (README, "Express workflows")."""
    public = urlsplit(public_base_url).hostname if public_base_url else None
    hosts = [*hosts, public] if public and public not in hosts else hosts
    return hosts + [f"sync-{h}" for h in hosts if _is_name(h) and f"sync-{h}" not in hosts]


def _is_name(host: str) -> bool:
    """A host name (not an address, a pattern or a wildcard), which a `sync-` form can prefix."""
    return bool(host) and host[0] not in ".*[" and not host.replace(".", "").isdigit()
