from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_workflow(sender, **kwargs) -> None:
    # The repository's ASL file is the workflow: after every migrate the stored definition matches it.
    from orders.services import order_processor_sync

    order_processor_sync()


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Coffee orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_sync_workflow, sender=self)
