from django.contrib import admin

from stepfunctions.models import Event, StateMachine


@admin.register(StateMachine)
class StateMachineAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["time", "detail_type", "source", "bus"]
    list_filter = ["detail_type"]
