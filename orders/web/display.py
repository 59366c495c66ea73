"""The display board by the counter: the rotating QR code, upcoming and ready order numbers.

A full-screen board for the whole room: order numbers only, no names and no account links.
"""

from functools import wraps

import segno
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from orders.services.barista import queue_open, queue_ready
from orders.services.qr_codes import qr_code_current
from orders.services.shop_config import shop_config_get
from serverlesspresso.operations.public_url import public_url

DISPLAY_PERMISSION = "orders.view_display_board"
# More numbers than any screen holds in large type; the board's script hides what does not fit
# and counts it, with these extra ones, as "+N".
UPCOMING_SHOWN = 40
READY_SHOWN = 40


def _board_only(view):
    """The board for a barista's (or a display's) login. Anyone else logged in is sent home and
    told why; a visitor is asked to log in."""

    @wraps(view)
    def guarded(request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm(DISPLAY_PERMISSION):
            messages.info(
                request,
                "The display board is the screen by the counter: it opens with a barista's "
                "login. Your orders are here.",
            )
            return redirect("orders:home")
        return view(request)

    return guarded


def _context(request: HttpRequest) -> dict:
    config = shop_config_get()
    upcoming = list(queue_open().exclude(order_number=None))
    ready = list(queue_ready())
    context = {
        "config": config,
        "upcoming": upcoming[:UPCOMING_SHOWN],
        "upcoming_more": max(0, len(upcoming) - UPCOMING_SHOWN),
        "ready": ready[:READY_SHOWN],
        "ready_more": max(0, len(ready) - READY_SHOWN),
        "now": timezone.now(),
    }
    if config.store_open and config.qr_code_required:
        qr = qr_code_current()
        link = public_url(request=request, path=reverse("orders:qr", kwargs={"code": qr.code}))
        svg = segno.make(link, error="m").svg_inline(omitsize=True, svgclass="qr-svg")
        context.update(qr=qr, qr_link=link, qr_svg=svg)
    elif config.store_open:
        context["order_link"] = public_url(request=request, path=reverse("orders:home"))
    return context


@_board_only
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/display.html", _context(request))


def board_panel(request: HttpRequest) -> HttpResponse:
    # Fetched by the board's script: a refusal, not a login page, so the board keeps showing
    # what it had while it cannot read more.
    if not request.user.has_perm(DISPLAY_PERMISSION):
        return HttpResponse("The display board needs a barista's login", status=403)
    return render(request, "orders/_display_panel.html", _context(request))
