"""The coffee bar's URLs, under the "orders" namespace: the JSON API of the people's callbacks
(orders.views) and their pages (customer, display board, live streams: orders.web)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from orders import views
from orders.web import customer, display, forms, stream

app_name = "orders"

# What the customer and the baristas do to an order: POST api/orders/<orderId>/<action>.
_ORDER_ACTIONS = {
    "submit": views.order_submit,
    "complete": views.order_complete,
    "cancel": views.order_cancel,
    "make": views.order_make,
    "unmake": views.order_unmake,
}

urlpatterns = [
    path("api/orders", views.order_start, name="start"),
    path("api/orders/<str:order_id>", views.order_detail, name="detail"),
    *(
        path(f"api/orders/<str:order_id>/{action}", view, name=action)
        for action, view in _ORDER_ACTIONS.items()
    ),
    # The people's pages.
    path("", customer.home, name="home"),
    path("accounts/signup/", customer.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=forms.LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("orders/new", customer.order_new, name="new"),
    path("qr/<str:code>", customer.qr_scan, name="qr"),
    path("orders/<str:order_id>/", customer.order_page, name="order"),
    path("orders/<str:order_id>/panel", customer.order_panel, name="order_panel"),
    path("orders/<str:order_id>/drink", customer.order_drink, name="order_drink"),
    path("orders/<str:order_id>/cancel", customer.order_cancel, name="order_cancel"),
    path("orders/<str:order_id>/more-time", customer.order_more_time, name="order_more_time"),
    path("display/", display.board, name="display"),
    path("display/panel", display.board_panel, name="display_panel"),
    path("events/me", stream.stream_me, name="stream_me"),
    path("events/admin", stream.stream_admin, name="stream_admin"),
    path("events/config", stream.stream_config, name="stream_config"),
]
