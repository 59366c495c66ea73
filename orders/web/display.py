"""The display board by the counter: the rotating QR code, upcoming and ready order numbers."""

import segno
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from orders.services.barista import queue_open, queue_ready
from orders.services.qr_codes import qr_code_current
from orders.services.shop_config import shop_config_get
from serverlesspresso.operations.public_url import public_url

DISPLAY_PERMISSION = "orders.view_display_board"


def _context(request: HttpRequest) -> dict:
    config = shop_config_get()
    context = {
        "config": config,
        "upcoming": list(queue_open().exclude(order_number=None)),
        "ready": list(queue_ready()),
        "now": timezone.now(),
    }
    if config.store_open and config.qr_code_required:
        qr = qr_code_current()
        link = public_url(request=request, path=reverse("orders:qr", kwargs={"code": qr.code}))
        context.update(qr=qr, qr_link=link, qr_svg=segno.make(link, error="m").svg_inline(scale=6))
    elif config.store_open:
        context["order_link"] = public_url(request=request, path=reverse("orders:home"))
    return context


@permission_required(DISPLAY_PERMISSION)
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/display.html", _context(request))


@permission_required(DISPLAY_PERMISSION)
def board_panel(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/_display_panel.html", _context(request))
