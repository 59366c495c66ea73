"""The machine's address on the local network: what a phone on the bar's Wi-Fi can open."""

import socket


def lan_address() -> str:
    """The IPv4 address of the interface that routes to other machines, or 127.0.0.1 when the
    machine has none. A UDP "connect" only picks the route; no packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # A private address that need not exist: the kernel picks the outgoing interface.
            probe.connect(("10.254.254.254", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
