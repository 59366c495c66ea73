from django.contrib import admin
from django.http import HttpRequest

from orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "order_number", "user_id", "status", "workflow_state", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id", "user_id"]
    exclude = ["task_token"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The workflow owns an order: its events change it through Order's transitions, never a
        # form (an edited status would neither be guarded nor move the workflow along). The
        # page still shows the order to those who may view it.
        return False
