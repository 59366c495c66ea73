from django.contrib import admin

from orders.models import Event, Execution, Order, ShopConfig, StateMachine


@admin.register(StateMachine)
class StateMachineAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["name", "state_machine", "status", "stage", "start_date", "stop_date"]
    list_filter = ["status", "stage", "state_machine"]
    search_fields = ["name"]
    readonly_fields = [f.name for f in Execution._meta.fields]


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


admin.site.register(ShopConfig)
