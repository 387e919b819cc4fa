"""Forms for the account pages; they validate shape only, services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.services import MAX_STARTING_CASH


class SignUpForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]{3,150}$",
        max_length=150,
        error_messages={"invalid": "3 to 150 letters, digits and @ . + - _ only."},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters, not only digits, not a common password.",
    )


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Wrong username or password.",
        "inactive": "This account is inactive.",
    }


class StartingCashField(forms.DecimalField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            max_digits=14, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_STARTING_CASH, **kwargs
        )


class PaperAccountForm(forms.Form):
    name = forms.CharField(max_length=80)
    starting_cash = StartingCashField(initial=Decimal("100000.00"))


class ResetAccountForm(forms.Form):
    starting_cash = StartingCashField()


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use this token, e.g. 'my bot'.")
