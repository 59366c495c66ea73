from django.contrib import admin
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The Step Functions API; an endpoint URL written with or without its final slash works.
    re_path(r"^sfn/?", include("orders.api.urls")),
    path("", include("orders.urls")),
]
