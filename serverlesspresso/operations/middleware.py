"""/health/live, /health/ready and /metrics, answered before any other middleware.

First in MIDDLEWARE, so they answer on any Host header (a compose health check says
"localhost", Prometheus says "web:8000") and over plain HTTP (SSL redirect off for them), and a
health check never touches sessions or CSRF.
"""

import hmac
import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from serverlesspresso.operations.health import CHECKS, health_report


def health_live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


def health_ready(request: HttpRequest) -> HttpResponse:
    """200 when every check passes, else 503; `?check=database&check=redis` limits the checks."""
    try:
        report = health_report(checks=request.GET.getlist("check") or CHECKS)
    except ValueError as error:
        return JsonResponse({"ok": False, "error": str(error)}, status=400)
    return JsonResponse(report, status=200 if report["ok"] else 503)


def metrics(request: HttpRequest) -> HttpResponse:
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
