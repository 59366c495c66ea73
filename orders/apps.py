from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_workflow(sender, **kwargs) -> None:
    # The repository's ASL file is the workflow: after every migrate the stored definition matches it.
    from orders.services.order_processor import order_processor_sync

    order_processor_sync()


def _sync_coffee_bar(sender, **kwargs) -> None:
    # Runs after auth's own post_migrate handler has created this app's permissions.
    from orders.services.barista import baristas_group_sync
    from orders.services.menu import menu_seed

    baristas_group_sync()
    menu_seed()


class OrdersConfig(AppConfig):
    """The coffee bar: the Step Functions engine's first user, plugged in through its hooks."""

    name = "orders"
    verbose_name = "Coffee orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders.services import bus, order_events, orders, shop
        from stepfunctions import hooks, resources

        # The workflow's lambda:invoke targets (GetShopStatus, GenerateOrderNumber).
        for name, function in shop.FUNCTIONS.items():
            resources.lambda_function(name)(function)
        # Orders follow the workflow's events and its ends, in the same transaction.
        hooks.on_events(order_events.orders_apply_events)
        hooks.on_execution_closed(order_events.order_execution_closed)
        hooks.on_event_topics(bus.event_topics)
        hooks.on_log_fields(orders.order_log_fields)
        hooks.on_redrive_refusal(orders.order_redrive_refusal)
        post_migrate.connect(_sync_workflow, sender=self)
        post_migrate.connect(_sync_coffee_bar, sender=self)
