from django.urls import path

from stepfunctions.api.protocol import endpoint

app_name = "sfn"
urlpatterns = [path("", endpoint, name="endpoint")]
