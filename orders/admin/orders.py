from django.contrib import admin

from orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "order_number", "user_id", "status", "workflow_state", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id", "user_id"]
    exclude = ["task_token"]
