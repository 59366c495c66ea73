"""/health/live, /health/ready and /metrics, answered before any other middleware.

First in MIDDLEWARE, so they answer on any Host header (a compose health check says
"localhost", Prometheus says "web:8000") and over plain HTTP (SSL redirect off for them), and a
health check never touches sessions or CSRF.
"""

import hmac
import ipaddress
import json
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from serverlesspresso.operations.health import CHECKS, health_report


def health_live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@cache
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in allowed)


def operator_network(request: HttpRequest) -> bool:
    """Whether the request comes from settings.METRICS_ALLOWED_NETWORKS, by the address the web
    server gives Django: the peer's, or the client a trusted proxy (FORWARDED_ALLOW_IPS) names."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(
        address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    )


def health_ready(request: HttpRequest) -> HttpResponse:
    """200 when every check passes, else 503; `?check=database&check=redis` limits the checks.
    The checks' details (errors, heartbeat ages) only to the operators' networks."""
    try:
        report = health_report(checks=request.GET.getlist("check") or CHECKS)
    except ValueError as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=400)
    status = 200 if report["ok"] else 503
    if not operator_network(request):
        return JsonResponse({"ok": report["ok"]}, status=status)
    return JsonResponse(report, status=status)


def metrics(request: HttpRequest) -> HttpResponse:
    if not operator_network(request):
        return JsonResponse(
            {"error": "metrics are served to the operators' networks only"}, status=403
        )
    token = settings.METRICS_TOKEN
    if token and not hmac.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        return HttpResponse(json.dumps({"error": "bearer token required"}), status=401)
    from serverlesspresso.operations.metrics import metrics_render

    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)


ROUTES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/live": health_live,
    "/health/ready": health_ready,
    "/metrics": metrics,
}


class OperationsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ROUTES.get(request.path_info.rstrip("/") or "/")
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return view(request)
