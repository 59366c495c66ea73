"""The menu, what sold out when, and the shop's config in the admin; a config saved here emits
ConfigChanged."""

from django.contrib import admin

from orders.models import Drink, DrinkModifier, MenuItemOff, QRCode, ShopConfig
from orders.services.shop_config import EDITABLE, shop_config_update


class DrinkModifierInline(admin.TabularInline):
    model = DrinkModifier
    extra = 0


@admin.register(Drink)
class DrinkAdmin(admin.ModelAdmin):
    list_display = ["name", "icon", "available", "position"]
    list_editable = ["available", "position"]
    inlines = [DrinkModifierInline]


@admin.register(ShopConfig)
class ShopConfigAdmin(admin.ModelAdmin):
    list_display = ["__str__", *EDITABLE]

    def has_add_permission(self, request) -> bool:
        # One row: the workflow reads the first (orders.services.shop.shop_config_get).
        return not ShopConfig.objects.exists()

    def save_model(self, request, obj, form, change) -> None:
        changes = {
            field: form.cleaned_data[field] for field in EDITABLE if field in form.cleaned_data
        }
        updated = shop_config_update(changes=changes, by=request.user.get_username())
        obj.pk = updated.pk


@admin.register(QRCode)
class QRCodeAdmin(admin.ModelAdmin):
    list_display = ["window_start", "expires_at", "remaining", "drinks"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MenuItemOff)
class MenuItemOffAdmin(admin.ModelAdmin):
    """The record of what sold out and for how long; baristas change it from their queue."""

    list_display = ["label", "started_at", "ended_at", "started_by", "ended_by"]
    list_select_related = ["drink"]
    list_filter = ["ended_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
