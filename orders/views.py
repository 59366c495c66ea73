"""JSON views for the customer's and the barista's callbacks. Thin: parse, call a service, answer."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from orders import selectors
from orders.services import orders as order_services
from stepfunctions.errors import ServiceError, ValidationException
from stepfunctions.services.rate_limits import RateLimited, rate_limit_hit
from stepfunctions.workflow import JsonRefused, json_read


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def json_view(view: Callable) -> Callable:
    """Logged-in users only; POSTs within the user's rate limit (429 past it); a JSON object
    body; ServiceError answered with its code."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        if not request.user.is_authenticated:
            return _error(401, "NotAuthenticated", "Log in first")
        if request.method == "POST":
            try:
                rate_limit_hit(scope="orders-json", who=str(request.user.pk))
            except RateLimited as limited:
                response = _error(429, "Throttled", str(limited))
                response["Retry-After"] = str(limited.retry_after)
                return response
        body = {}
        if request.method == "POST" and request.body:
            try:
                body = json_read(request.body)
            except JsonRefused as error:
                return _error(400, "InvalidJson", f"The body is not JSON we accept: {error}")
            if not isinstance(body, dict):
                return _error(400, "InvalidJson", "The body must be a JSON object")
        try:
            return view(request, body, *args, **kwargs)
        except ServiceError as error:
            return _error(error.http_status, error.code, error.message)

    return wrapper


@require_http_methods(["POST"])
@json_view
def order_start(request: HttpRequest, body: dict) -> JsonResponse:
    # A client may name its order: retrying with the same orderId returns the same order.
    order_id = body.get("orderId")
    if order_id is not None and not isinstance(order_id, str):
        raise ValidationException("Member 'orderId' must be a string")
    execution = order_services.order_start(
        user_id=request.user.get_username(), qr_code=body.get("qrCode"), order_id=order_id
    )
    order_id = execution.input["detail"]["orderId"]
    return JsonResponse({"executionArn": execution.arn, "orderId": order_id}, status=202)


@require_http_methods(["GET"])
@json_view
def order_detail(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    order = selectors.order_for(order_id=order_id, user=request.user)
    return JsonResponse(selectors.order_shape(order=order))


@require_http_methods(["POST"])
@json_view
def order_submit(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    order = selectors.order_for(order_id=order_id, user=request.user)
    if order.user_id != request.user.get_username():
        return _error(403, "Forbidden", "Only the order's customer submits its drink")
    if "drink" not in body:
        raise ValidationException("Missing member 'drink'")
    order_services.order_submit(order=order, drink=body["drink"])
    return JsonResponse({"orderId": order.order_id}, status=202)


@require_http_methods(["POST"])
@json_view
def order_complete(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    if not request.user.has_perm("orders.act_as_barista"):
        return _error(403, "Forbidden", "Only baristas complete orders")
    order = selectors.order_for(order_id=order_id, user=request.user)
    order_services.order_complete(order=order, barista=request.user.get_username())
    return JsonResponse({"orderId": order.order_id}, status=202)


def _barista_claim(request: HttpRequest, order_id: str, claim) -> JsonResponse:
    if not request.user.has_perm("orders.act_as_barista"):
        return _error(403, "Forbidden", "Only baristas make orders")
    order = selectors.order_for(order_id=order_id, user=request.user)
    claim(order=order, barista=request.user.get_username())
    return JsonResponse({"orderId": order.order_id}, status=202)


@require_http_methods(["POST"])
@json_view
def order_make(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    return _barista_claim(request, order_id, order_services.order_make)


@require_http_methods(["POST"])
@json_view
def order_unmake(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    return _barista_claim(request, order_id, order_services.order_unmake)


@require_http_methods(["POST"])
@json_view
def order_cancel(request: HttpRequest, body: dict, order_id: str) -> JsonResponse:
    order = selectors.order_for(order_id=order_id, user=request.user)
    order_services.order_cancel(order=order, by=request.user.get_username())
    return JsonResponse({"orderId": order.order_id}, status=202)
