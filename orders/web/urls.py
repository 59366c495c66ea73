from django.contrib.auth import views as auth_views
from django.urls import path

from orders.web import customer, display, stream

# Included under the "orders" namespace by orders.urls.
urlpatterns = [
    path("", customer.home, name="home"),
    path("accounts/signup/", customer.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("orders/new", customer.order_new, name="new"),
    path("qr/<str:code>", customer.qr_scan, name="qr"),
    path("orders/<str:order_id>/", customer.order_page, name="order"),
    path("orders/<str:order_id>/panel", customer.order_panel, name="order_panel"),
    path("orders/<str:order_id>/drink", customer.order_drink, name="order_drink"),
    path("orders/<str:order_id>/cancel", customer.order_cancel, name="order_cancel"),
    path("display/", display.board, name="display"),
    path("display/panel", display.board_panel, name="display_panel"),
    path("events/me", stream.stream_me, name="stream_me"),
    path("events/admin", stream.stream_admin, name="stream_admin"),
    path("events/config", stream.stream_config, name="stream_config"),
]
