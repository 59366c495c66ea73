"""The barista queue's Menu strip: one tap marks a drink or an option sold out, the same tap (or
the Undo that follows it) brings it back. Thin: the rule is orders.services.sold_out's.

A plain form post answers with a redirect to the queue and a message; the strip's script
(orders/static/orders/sold_out.js) asks for JSON instead and shows the message with an Undo."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from orders.services.sold_out import MenuItem, mark_back, mark_sold_out, menu_toggles
from stepfunctions.errors import ServiceError


def sold_out_context() -> dict:
    """What the strip's template (admin/orders/_sold_out.html) reads."""
    drinks, modifiers = menu_toggles()
    return {"menu_drinks": drinks, "menu_modifiers": modifiers}


def sold_out_toggle(request: HttpRequest) -> HttpResponse:
    """POST drink, or modifier and option; off=1 marks it sold out, off=0 brings it back. The
    caller checked the barista's permission."""
    if request.method != "POST":
        return HttpResponse(status=405)
    item = MenuItem(
        drink=request.POST.get("drink", ""),
        modifier=request.POST.get("modifier", ""),
        option=request.POST.get("option", ""),
    )
    off = request.POST.get("off") == "1"
    me = request.user.get_username()
    try:
        (mark_sold_out if off else mark_back)(item=item, by=me)
    except ServiceError as error:
        return _answer(request, error.message, ok=False, item=item, off=not off)
    text = (
        f"{item.label} is sold out: customers no longer see it."
        if off
        else f"{item.label} is back: customers can choose it again."
    )
    return _answer(request, text, ok=True, item=item, off=off)


def _answer(request: HttpRequest, text: str, *, ok: bool, item: MenuItem, off: bool):
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"message": text, "item": item.label, "off": off}, status=200 if ok else 400
        )
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, text)
    return redirect("admin:orders_queuedorder_changelist")
