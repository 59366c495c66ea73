"""HTTP_TASK_ALLOWED_HOSTS (stepfunctions.integrations.http_hosts): the address a host name resolves
to is what is checked, and the call goes to that address; and the connections' admin takes the
secrets write-only."""

import socket

import pytest

from stepfunctions.integrations.http_hosts import HOST_NOT_ALLOWED, address_for
from stepfunctions.models import Connection
from stepfunctions.workflow import StatesError


@pytest.fixture
def resolver(monkeypatch):
    """Names resolve to the addresses the test gives them (a DNS answer, as an attacker's
    domain would give), everything else as the system resolves it."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port)) for a in names[host]]  # fmt: skip
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def refused(host: str, **options) -> str:
    with pytest.raises(StatesError) as raised:
        address_for(host, 443, **options)
    assert raised.value.error == HOST_NOT_ALLOWED
    return raised.value.cause


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("10.0.0.8", "private"), ("192.168.1.1", "private"),
        ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::1", "loopback"), ("fe80::1", "link-local"), ("fd00::5", "private"),
        ("::ffff:127.0.0.1", "loopback"), ("100.64.0.1", "non-public"),
    ],
)  # fmt: skip
def test_by_default_only_public_addresses_are_allowed(address, kind, resolver):
    resolver["api.example.test"] = [address]
    cause = refused("api.example.test", entries=["public"])
    assert f"({kind})" in cause and "HTTP_TASK_ALLOWED_HOSTS" in cause
    assert f"({kind})" in refused(address, entries=["public"])


def test_a_public_name_resolving_to_loopback_is_refused(resolver, settings):
    assert settings.HTTP_TASK_ALLOWED_HOSTS == ["public"]  # the default
    resolver["innocent.example.com"] = ["127.0.0.1"]
    assert "resolves to 127.0.0.1 (loopback)" in refused("innocent.example.com")
    resolver["innocent.example.com"] = ["93.184.215.14"]
    assert address_for("innocent.example.com", 443) == "93.184.215.14"


def test_the_call_goes_to_the_first_allowed_address_of_the_name(resolver):
    resolver["mixed.example.com"] = ["10.0.0.1", "93.184.215.14"]
    assert address_for("mixed.example.com", 443, entries=["public"]) == "93.184.215.14"


def test_names_addresses_networks_and_everything(resolver):
    resolver["internal.example.com"] = ["10.1.2.3"]
    resolver["other.example.com"] = ["10.9.9.9"]
    assert address_for("internal.example.com", 443, entries=["Internal.Example.com"]) == "10.1.2.3"
    refused("other.example.com", entries=["internal.example.com"])
    assert address_for("other.example.com", 443, entries=["10.0.0.0/8"]) == "10.9.9.9"
    assert address_for("127.0.0.1", 443, entries=["127.0.0.1"]) == "127.0.0.1"
    refused("127.0.0.2", entries=["127.0.0.1"])
    assert address_for("169.254.169.254", 443, entries=["*"]) == "169.254.169.254"
    # A list without `public` allows only what it names.
    resolver["public.example.com"] = ["93.184.215.14"]
    refused("public.example.com", entries=["10.0.0.0/8"])
    assert address_for("public.example.com", 443, entries=["public", "10.0.0.0/8"])


# --- the admin ----------------------------------------------------------------------------------
SECRET = "admin-secret-9z8y7x"


def test_the_admin_takes_secrets_write_only(admin_client):
    add = {
        "name": "payments", "description": "", "authorization_type": "BASIC",
        "api_key_name": "", "api_key_value": "", "username": "shop", "password": SECRET,
        "authorization_endpoint": "", "oauth_http_method": "POST", "client_id": "",
        "client_secret": "", "oauth_http_parameters": "{}",
    }  # fmt: skip
    answer = admin_client.post("/admin/stepfunctions/connection/add/", add)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    connection = Connection.objects.get(name="payments")
    assert connection.password == SECRET
    page = admin_client.get(f"/admin/stepfunctions/connection/{connection.pk}/change/")
    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    assert connection.arn in page.content.decode()
    assert SECRET not in admin_client.get("/admin/stepfunctions/connection/").content.decode()
    # Left empty: the secret stays; given: it is replaced.
    change = add | {"password": "", "description": "kept"}
    url = f"/admin/stepfunctions/connection/{connection.pk}/change/"
    assert admin_client.post(url, change).status_code == 302
    connection.refresh_from_db()
    assert (connection.description, connection.password) == ("kept", SECRET)
    assert admin_client.post(url, change | {"password": "new-secret"}).status_code == 302
    connection.refresh_from_db()
    assert connection.password == "new-secret"


def test_a_connection_needs_its_kinds_secret(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        Connection(name="keyless", authorization_type="API_KEY", api_key_name="X-Key").full_clean()
    assert "api_key_value" in raised.value.message_dict
