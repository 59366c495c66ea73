"""The shop's config: the single row, read and changed here. Every change emits
ConfigService.ConfigChanged so screens follow."""

from typing import Any

from django.db import transaction

from orders.models import ShopConfig
from orders.selectors import record_shape
from orders.services.bus import event_put

EDITABLE = (
    "store_open",
    "max_orders_in_queue",
    "max_orders_per_user",
    "drinks_per_barcode",
    "qr_code_required",
)


def shop_config_get(*, lock: bool = False) -> ShopConfig:
    """The single config row, created with defaults on first use."""
    queryset = ShopConfig.objects.select_for_update() if lock else ShopConfig.objects
    config = queryset.order_by("pk").first()
    if config is None:
        config, _ = ShopConfig.objects.get_or_create(pk=1)
    return config


def shop_config_shape(*, config: ShopConfig) -> dict[str, Any]:
    """The config as the original's ConfigService published it: its editable fields."""
    return record_shape(record=config, fields=EDITABLE)


def shop_config_update(*, changes: dict[str, Any], by: str) -> ShopConfig:
    """Applies the changes under the row lock the workflow's shop check also takes, so an order
    starting meanwhile sees either the old config or the new one, never half of it."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    with transaction.atomic():
        config = shop_config_get(lock=True)
        for field, value in changes.items():
            setattr(config, field, value)
        config.save(update_fields=list(changes) or None)
        event_put(
            detail_type="ConfigService.ConfigChanged",
            detail={**shop_config_shape(config=config), "changedBy": by},
        )
    return config


def shop_open_set(*, store_open: bool, by: str) -> ShopConfig:
    """Opens or closes the shop (the baristas' switch)."""
    return shop_config_update(changes={"store_open": store_open}, by=by)
