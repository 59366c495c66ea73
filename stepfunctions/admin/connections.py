"""The HTTP Task's connections in the admin: the secrets are write-only (never rendered back, not
even masked); a secret field left empty keeps the secret the connection has."""

from django import forms
from django.contrib import admin

from stepfunctions.models import Connection
from stepfunctions.models.connections import SECRET_FIELDS

_KEEP = "Write-only: leave empty to keep the current value."


class ConnectionForm(forms.ModelForm):
    authorization_endpoint = forms.URLField(
        max_length=2048, required=False, assume_scheme="https",
        help_text="OAuth client credentials: the token endpoint.",
    )  # fmt: skip

    class Meta:
        model = Connection
        fields = [
            "name", "description", "authorization_type", "api_key_name", "api_key_value",
            "username", "password", "authorization_endpoint", "oauth_http_method", "client_id",
            "client_secret", "oauth_http_parameters",
        ]  # fmt: skip
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            field = self.fields[name]
            field.initial = ""  # nothing of the secret reaches the page, nor its "changed" check
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = _KEEP

    def _clean_secret(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        if not value and self.instance.pk:
            return Connection.objects.values_list(name, flat=True).get(pk=self.instance.pk)
        return value

    def clean_api_key_value(self) -> str:
        return self._clean_secret("api_key_value")

    def clean_password(self) -> str:
        return self._clean_secret("password")

    def clean_client_secret(self) -> str:
        return self._clean_secret("client_secret")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = ["name", "authorization_type", "arn", "updated_at"]
    list_filter = ["authorization_type"]
    search_fields = ["name", "description"]
    readonly_fields = ["arn", "created_at", "updated_at"]

    def get_fields(self, request, obj=None):
        fields = list(ConnectionForm.Meta.fields)
        return fields if obj is None else ["arn", *fields, "created_at", "updated_at"]
