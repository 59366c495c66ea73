from django.apps import apps
from django.contrib import admin
from django.urls import include, path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The Step Functions API; an endpoint URL written with or without its final slash works.
    re_path(r"^sfn/?", include("stepfunctions.api.urls")),
]
# The coffee bar's pages and JSON API (absent when only the engine is installed).
if apps.is_installed("orders"):
    urlpatterns.append(path("", include("orders.urls")))
