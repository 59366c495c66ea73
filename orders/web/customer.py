"""The customer's pages. Thin: every rule is in orders.services; refusals become messages."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from orders import selectors
from orders.errors import TOO_LATE, OrderDoesNotExist, ServiceError
from orders.models import Order
from orders.services import orders as order_services
from orders.services.menu import menu_available
from orders.services.order_progress import order_progress, order_steps, order_summary
from orders.services.shop_config import shop_config_get
from orders.web.forms import DrinkForm, SignupForm


def _own_order(request: HttpRequest, order_id: str) -> Order:
    # Only the customer's own orders: another customer's looks exactly like a missing one.
    order = selectors.customer_order(order_id=order_id, username=request.user.get_username())
    if order is None:
        raise Http404("No such order")
    return order


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("orders:home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    orders = selectors.customer_orders(username=request.user.get_username())
    return render(
        request,
        "orders/home.html",
        {
            "orders": [(order, order_summary(order=order)) for order in orders],
            "config": shop_config_get(),
        },
    )


def _start(request: HttpRequest, qr_code: str | None) -> HttpResponse:
    try:
        execution = order_services.order_start(user_id=request.user.get_username(), qr_code=qr_code)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("orders:home")
    return redirect("orders:order", order_id=execution.input["detail"]["orderId"])


@login_required
@require_POST
def order_new(request: HttpRequest) -> HttpResponse:
    return _start(request, None)


@login_required
def qr_scan(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code's link: a page with one button, so that merely opening a link (a preview, a
    prefetch) never spends a drink; the button's POST does."""
    if request.method == "POST":
        return _start(request, code)
    qr = selectors.qr_code_find(code=code)
    return render(request, "orders/qr.html", {"qr": qr, "code": code})


@login_required
def order_page(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _own_order(request, order_id)
    return render(request, "orders/order.html", _order_context(order))


@login_required
def order_panel(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _own_order(request, order_id)
    return render(request, "orders/_order_panel.html", _order_context(order))


def _order_context(order: Order, form: DrinkForm | None = None) -> dict:
    progress = order_progress(order=order)
    if progress.step == "choosing" and form is None:
        form = DrinkForm(menu=menu_available())
    steps = order_steps(order=order, progress=progress)
    return {"order": order, "progress": progress, "steps": steps, "form": form}


# The wait the customer answered is over (answered, timed out, stopped): the token's refusal is
# the engine's wording, so the customer is told what became of the order instead.


def _too_late(request: HttpRequest, order: Order, what: str) -> None:
    order.refresh_from_db()
    progress = order_progress(order=order)
    messages.error(request, f"{what}: this order is no longer waiting. {progress.text}")


@login_required
@require_POST
def order_drink(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _own_order(request, order_id)
    form = DrinkForm(request.POST, menu=menu_available())
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("orders:order", order_id=order.order_id)
    try:
        order_services.order_submit(order=order, drink=form.drink_choice())
    except TOO_LATE:
        _too_late(request, order, "Your drink was not added")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("orders:order", order_id=order.order_id)


@login_required
@require_POST
def order_cancel(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _own_order(request, order_id)
    try:
        order_services.order_cancel(order=order, by=request.user.get_username())
    except TOO_LATE:
        _too_late(request, order, "Nothing to cancel")
    except (ServiceError, OrderDoesNotExist) as error:
        messages.error(request, error.message)
    return redirect("orders:order", order_id=order.order_id)


@login_required
@require_POST
def order_more_time(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _own_order(request, order_id)
    try:
        left = order_services.order_more_time(order=order)
    except TOO_LATE:
        _too_late(request, order, "No more time was added")
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"More time to choose: the countdown starts again "
            f"(you can ask {left} more time{'s' if left != 1 else ''}).",
        )
    return redirect("orders:order", order_id=order.order_id)
