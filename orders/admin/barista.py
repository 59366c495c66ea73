"""The baristas' queue in the admin: open orders oldest first (the barista's own claims before
them), make / put back / complete / cancel, and the shop's open/close switch. Every button calls
the same services as the JSON API. Its own layout for a tablet on the counter: no sidebar, large
type, touch-sized buttons, Cancel asks first, messages in plain words."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from orders import selectors
from orders.admin.rooms import OnePermissionAdmin
from orders.admin.sold_out import sold_out_context, sold_out_toggle
from orders.errors import TOO_LATE, ServiceError
from orders.models import Order, QueuedOrder
from orders.services import orders as order_services
from orders.services.barista import age_colour, queue_open, queue_ready
from orders.services.order_progress import order_summary
from orders.services.shop_config import shop_config_get, shop_open_set

BARISTA_PERMISSION = "orders.act_as_barista"
_ACTIONS = {
    "make": order_services.order_make,
    "unmake": order_services.order_unmake,
    "complete": order_services.order_complete,
}
# What the barista is told once an action is done, about order {number}.
_DONE = {
    "make": "You are making order {number}.",
    "unmake": "Order {number} is back in the queue for any barista.",
    "complete": "Order {number} is ready: its customer is told to pick it up.",
    "cancel": "Order {number} is cancelled: its customer is told.",
}
# The order is over (made, cancelled, timed out or stopped) before the button was pressed.
# The barista's own claims first, then orders nobody has claimed, then other baristas' claims.
_CLAIM_ORDER = {"mine": 0, "free": 1, "other": 2}


def _number(order: Order) -> str:
    return str(order.order_number) if order.order_number else "without a number"


@admin.register(QueuedOrder)
class BaristaQueueAdmin(OnePermissionAdmin):
    permission = BARISTA_PERMISSION

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("", view(self.queue_view), name="orders_queuedorder_changelist"),
            path("panel/", view(self.panel_view), name="orders_queuedorder_panel"),
            path("shop/", view(self.shop_view), name="orders_queuedorder_shop"),
            path("sold-out/", view(self.sold_out_view), name="orders_queuedorder_sold_out"),
            path("<int:pk>/<str:action>/", view(self.act_view), name="orders_queuedorder_act"),
        ]

    def _check(self, request: HttpRequest) -> None:
        if not request.user.has_perm(BARISTA_PERMISSION):
            raise PermissionDenied("Baristas only")

    def _context(self, request: HttpRequest) -> dict:
        now = timezone.now()
        me = request.user.get_username()
        rows = []
        for order in queue_open():
            since = order.submitted_at or order.created_at
            rows.append(
                {
                    "order": order,
                    "since": since,
                    "colour": age_colour(seconds=(now - since).total_seconds()),
                    "mine": order.barista == me,
                    "other": bool(order.barista) and order.barista != me,
                    "claim": "mine"
                    if order.barista == me
                    else ("other" if order.barista else "free"),
                }
            )
        rows.sort(key=lambda row: _CLAIM_ORDER[row["claim"]])
        choosing = selectors.orders_choosing_count()
        return {
            **self.admin_site.each_context(request),
            "is_nav_sidebar_enabled": False,
            "title": "Barista queue",
            "rows": rows,
            "ready": queue_ready(now=now),
            "choosing": choosing,
            "config": shop_config_get(),
            "opts": self.model._meta,
            **sold_out_context(),
        }

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        return TemplateResponse(request, "admin/orders/barista_queue.html", self._context(request))

    def panel_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        return TemplateResponse(request, "admin/orders/_barista_queue.html", self._context(request))

    @staticmethod
    def _back(focus: str = "") -> HttpResponse:
        """Back to the queue; `focus` names the element the keyboard's focus returns to (its
        card, the shop switch): live.js focuses what the address's ?focus= names."""
        url = reverse("admin:orders_queuedorder_changelist")
        return redirect(f"{url}?{urlencode({'focus': focus})}" if focus else url)

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        self._check(request)
        if request.method != "POST":
            return HttpResponse(status=405)
        order = get_object_or_404(Order, pk=pk)
        me = request.user.get_username()
        try:
            if action == "cancel":
                order_services.order_cancel(order=order, by=me)
            elif action in _ACTIONS:
                _ACTIONS[action](order=order, barista=me)
            else:
                return HttpResponse(status=404)
        except TOO_LATE:
            order.refresh_from_db()
            summary = order_summary(order=order)
            self.message_user(
                request,
                f"Order {_number(order)} is no longer open ({summary}): nothing was changed.",
                messages.WARNING,
            )
            return self._back(f"order-{pk}")
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return self._back(f"order-{pk}")
        self.message_user(request, _DONE[action].format(number=_number(order)), messages.SUCCESS)
        return self._back(f"order-{pk}")

    def sold_out_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        return sold_out_toggle(request)

    def shop_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        if request.method != "POST":
            return HttpResponse(status=405)
        store_open = request.POST.get("open") == "1"
        shop_open_set(store_open=store_open, by=request.user.get_username())
        self.message_user(
            request,
            "The shop is open: customers can order."
            if store_open
            else "The shop is closed: no new orders until you open it again.",
        )
        return self._back("shop-toggle")
