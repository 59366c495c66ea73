from django.apps import apps
from django.contrib import admin
from django.urls import include, path, re_path

# A database outage met outside a view (DEBUG off) answers 503 too (serverlesspresso.outage).
handler500 = "serverlesspresso.outage.server_error"
urlpatterns = [
    path("admin/", admin.site.urls),
    # The Step Functions API; an endpoint URL written with or without its final slash works.
    re_path(r"^sfn/?", include("stepfunctions.api.urls")),
]
# The coffee bar's pages and JSON API (absent when only the engine is installed).
if apps.is_installed("orders"):
    urlpatterns.append(path("", include("orders.urls")))
