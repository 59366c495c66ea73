from django.urls import path

from orders import views
from orders.web.urls import urlpatterns as web_urlpatterns

app_name = "orders"
urlpatterns = [
    path("api/orders", views.order_start, name="start"),
    path("api/orders/<str:order_id>", views.order_detail, name="detail"),
    path("api/orders/<str:order_id>/submit", views.order_submit, name="submit"),
    path("api/orders/<str:order_id>/complete", views.order_complete, name="complete"),
    path("api/orders/<str:order_id>/cancel", views.order_cancel, name="cancel"),
    path("api/orders/<str:order_id>/make", views.order_make, name="make"),
    path("api/orders/<str:order_id>/unmake", views.order_unmake, name="unmake"),
]
# The people's pages (customer, display board, live streams).
urlpatterns += web_urlpatterns
