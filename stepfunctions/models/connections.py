"""Connections for the HTTP Task (`arn:aws:states:::http:invoke`): how to authorize calls to an
API, in EventBridge's connection shapes (API key, basic, OAuth client credentials).

A definition names one by its ARN, `arn:aws:events:<region>:<account>:connection/<name>/<id>`
(`Connection.arn`). The secrets (`api_key_value`, `password`, `client_secret`) are stored as
given, because each call must send them (EventBridge keeps them in Secrets Manager for the same
reason); they are read only by the task worker making the call, and never written to history,
logs, metrics or an API answer. The admin takes them write-only.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

SECRET_FIELDS = ("api_key_value", "password", "client_secret")
# EventBridge's constraint on a connection's name.
NAME_VALIDATOR = RegexValidator(r"^[.\-_A-Za-z0-9]{1,64}$", "Letters, digits, '.', '-' and '_'.")


class Connection(models.Model):
    class AuthorizationType(models.TextChoices):
        API_KEY = "API_KEY", "API key"
        BASIC = "BASIC", "Basic"
        OAUTH_CLIENT_CREDENTIALS = "OAUTH_CLIENT_CREDENTIALS", "OAuth client credentials"

    class OAuthMethod(models.TextChoices):
        GET = "GET"
        POST = "POST"
        PUT = "PUT"

    name = models.CharField(max_length=64, unique=True, validators=[NAME_VALIDATOR])
    connection_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    description = models.CharField(max_length=512, blank=True, default="")
    authorization_type = models.CharField(max_length=32, choices=AuthorizationType.choices)
    # API_KEY: a header of this name with this value on every call.
    api_key_name = models.CharField(max_length=512, blank=True, default="")
    api_key_value = models.CharField(max_length=512, blank=True, default="")
    # BASIC: `Authorization: Basic base64(username:password)`.
    username = models.CharField(max_length=512, blank=True, default="")
    password = models.CharField(max_length=512, blank=True, default="")
    # OAUTH_CLIENT_CREDENTIALS: a token from the authorization endpoint (client id and secret as
    # basic authorization, grant_type=client_credentials), sent as `Authorization: Bearer`.
    authorization_endpoint = models.URLField(max_length=2048, blank=True, default="")
    oauth_http_method = models.CharField(
        max_length=8, choices=OAuthMethod.choices, default=OAuthMethod.POST
    )
    client_id = models.CharField(max_length=512, blank=True, default="")
    client_secret = models.CharField(max_length=512, blank=True, default="")
    # EventBridge's OAuthHttpParameters: {"HeaderParameters": {...}, "QueryStringParameters":
    # {...}, "BodyParameters": {...}} added to the token request (a `scope`, an `audience`).
    oauth_http_parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:events:{settings.AWS_REGION}:{settings.AWS_ACCOUNT_ID}:"
            f"connection/{self.name}/{self.connection_id}"
        )

    def clean(self) -> None:
        """The fields its authorization type needs (the secrets included) are filled in."""
        required = {
            self.AuthorizationType.API_KEY: ("api_key_name", "api_key_value"),
            self.AuthorizationType.BASIC: ("username", "password"),
            self.AuthorizationType.OAUTH_CLIENT_CREDENTIALS: (
                "authorization_endpoint", "client_id", "client_secret",
            ),
        }.get(self.authorization_type, ())  # fmt: skip
        missing = {name: "Required for this authorization type." for name in required
                   if not getattr(self, name)}  # fmt: skip
        parameters = self.oauth_http_parameters
        allowed = {"HeaderParameters", "QueryStringParameters", "BodyParameters"}
        if (
            not isinstance(parameters, dict)
            or not set(parameters) <= allowed
            or not all(isinstance(value, dict) for value in parameters.values())
        ):
            missing["oauth_http_parameters"] = f"An object of {', '.join(sorted(allowed))}."
        if missing:
            raise ValidationError(missing)
