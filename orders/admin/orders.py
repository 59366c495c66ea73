from django.contrib import admin

from orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "order_number", "user_id", "status", "workflow_state", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id", "user_id"]
    exclude = ["task_token"]
    # The workflow owns these: its events change them through Order's transitions, never a form
    # (an edited status would neither be guarded nor move the workflow along).
    readonly_fields = [
        "order_id",
        "user_id",
        "execution",
        "status",
        "workflow_state",
        "order_number",
        "drink",
        "barista",
        "reason",
        "submitted_at",
    ]
