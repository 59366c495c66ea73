from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_workflow(sender, **kwargs) -> None:
    # The repository's ASL file is the workflow: after every migrate the stored definition matches it.
    from orders.services import order_processor_sync

    order_processor_sync()


def _sync_coffee_bar(sender, **kwargs) -> None:
    # Runs after auth's own post_migrate handler has created this app's permissions.
    from orders.services.barista import baristas_group_sync
    from orders.services.menu import menu_seed

    baristas_group_sync()
    menu_seed()


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Coffee orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_sync_workflow, sender=self)
        post_migrate.connect(_sync_coffee_bar, sender=self)
