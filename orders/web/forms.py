"""The customer's forms: sign up, log in (the site's and the admin's), and the drink form built
from the menu."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from orders.models import Drink
from orders.services.login_locks import LoginLocked, login_lock_check


class SignupForm(UserCreationForm):
    """Sign-up in plain words: the help texts say what to type, not Django's field rules."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "username"
        ].help_text = "The name the baristas will see. Letters and numbers, no spaces."
        self.fields["password1"].help_text = "Any password you will remember."
        self.fields["password2"].label = "The same password again"
        self.fields["password2"].help_text = ""


class _LoginLockCheck:
    """Refuses a login while its account or address is locked, before the password is checked
    (a guesser learns nothing more, even with the right one), and says when to try again. The
    lock is left on the request (`login_locked`): serverlesspresso.middleware answers 429 with
    Retry-After."""

    request: object
    data: dict

    def clean(self) -> dict:
        request = self.request
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        try:
            login_lock_check(username=self.data.get("username"), address=address)
        except LoginLocked as locked:
            if request is not None:
                request.login_locked = locked
            raise forms.ValidationError(locked.message(), code="locked") from None
        return super().clean()


class LoginForm(_LoginLockCheck, AuthenticationForm):
    """The site's login form (accounts/login/)."""


class AdminLoginForm(_LoginLockCheck, AdminAuthenticationForm):
    """The admin's login form (admin.site.login_form, set by orders.admin.accounts)."""


class DrinkForm(forms.Form):
    """A drink from the available menu and one option per modifier of that drink.

    The form only offers what the menu offers now (orders.services.menu.menu_available: nothing
    sold out); the service checks again (drink_validate), so a hand-made post is refused there
    too. A page left open while an option sold out posts it: the refusal says so in plain words.
    Only the chosen drink's modifiers are read from a post (another drink's selects may hold
    anything).
    """

    drink = forms.ChoiceField(
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": "Sorry, %(value)s is not available right now: choose another drink."
        },
    )

    def __init__(self, *args, menu: list[Drink], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.menu = menu
        self.fields["drink"].choices = [(d.name, f"{d.icon} {d.name}") for d in menu]
        chosen = self.data.get("drink") if self.is_bound else None
        for drink in menu:
            for modifier in drink.modifiers.all():
                self.fields[self._key(drink, modifier.name)] = forms.ChoiceField(
                    label=modifier.name,
                    choices=[(o, o) for o in modifier.options],
                    required=False,
                    disabled=self.is_bound and drink.name != chosen,
                    error_messages={
                        "invalid_choice": "Sorry, %(value)s is not available right now: "
                        f"choose another {modifier.name.replace('%', '%%')}."
                    },
                )

    @staticmethod
    def _key(drink: Drink, modifier: str) -> str:
        return f"{drink.pk}-{modifier}"

    def groups(self) -> list[tuple[Drink, list[forms.BoundField]]]:
        """Each drink with its modifier fields, for the template."""
        return [
            (drink, [self[self._key(drink, m.name)] for m in drink.modifiers.all()])
            for drink in self.menu
        ]

    def drink_choice(self) -> dict:
        """The drink as order_submit takes it."""
        name = self.cleaned_data["drink"]
        drink = next(d for d in self.menu if d.name == name)
        modifiers = {}
        for modifier in drink.modifiers.all():
            value = self.cleaned_data.get(self._key(drink, modifier.name))
            if value:
                modifiers[modifier.name] = value
        return {"drink": name, "modifiers": modifiers}
