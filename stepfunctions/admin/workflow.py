from django.contrib import admin

from orders.models import Event, Order, StateMachine


@admin.register(StateMachine)
class StateMachineAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "order_number", "user_id", "status", "workflow_state", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id", "user_id"]
    exclude = ["task_token"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["time", "detail_type", "source", "bus"]
    list_filter = ["detail_type"]
