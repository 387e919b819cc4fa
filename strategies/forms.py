"""Forms of the strategy pages: a configuration (name, strategy and one field per typed ``Param`` of the
strategy), a deployment of it, and stopping a deployment. They check shape only (a number where a
number goes); the services decide ranges, choices and the rules across parameters, and their
DomainError lands next to the field it names (``add_service_error``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms

from accounts.models import TradingAccount
from marketdata.models import TIMEFRAME_CHOICES
from strategies import sdk
from strategies.models import DEFAULT_WARMUP_BARS, MAX_DEPLOYMENT_SYMBOLS, StrategyDefinition
from strategies.services import MAX_NAME_LENGTH, MAX_WARMUP_BARS
from tradeapp.core.errors import DomainError

PARAMETER_PREFIX = "param_"
DEFAULT_TIMEFRAME = "1h"
MAX_DECIMAL_DIGITS = 28


def plain_value(value: object) -> str:
    """A value as a form shows it: ``Decimal("2.50")`` -> ``2.50``, ``True`` -> ``on``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def parameter_help(spec: sdk.Param[Any]) -> str:
    """The parameter's help sentence followed by its default and range or choices."""
    limits = []
    if spec.choices is not None:
        limits.append("one of " + ", ".join(plain_value(choice) for choice in spec.choices))
    elif spec.minimum is not None and spec.maximum is not None:
        limits.append(f"{plain_value(spec.minimum)} to {plain_value(spec.maximum)}")
    elif spec.minimum is not None:
        limits.append(f"at least {plain_value(spec.minimum)}")
    elif spec.maximum is not None:
        limits.append(f"at most {plain_value(spec.maximum)}")
    limits.append(f"default {plain_value(spec.default)}")
    text = spec.help.strip()
    return f"{text} ({'; '.join(limits)})" if text else "; ".join(limits).capitalize() + "."


def parameter_field(spec: sdk.Param[Any]) -> forms.Field:
    """The form field of one typed parameter: a checkbox, a select, a number or a decimal box.
    Bounds and step become the input's hints (min, max, step); the strategy checks the value."""
    common: dict[str, Any] = {"label": spec.label, "help_text": parameter_help(spec)}
    if spec.kind is bool:
        return forms.BooleanField(required=False, **common)
    if spec.choices is not None:
        choices = [(plain_value(choice), plain_value(choice)) for choice in spec.choices]
        return forms.ChoiceField(choices=choices, **common)
    if spec.kind is str:
        return forms.CharField(max_length=200, **common)
    hints = {"class": "num"}
    for name, value in (("min", spec.minimum), ("max", spec.maximum)):
        if value is not None:
            hints[name] = plain_value(value)
    if spec.kind is int:
        hints["step"] = plain_value(spec.step or 1)
        return forms.IntegerField(
            widget=forms.NumberInput(attrs=hints),
            error_messages={"invalid": "Enter a whole number."},
            **common,
        )
    if spec.kind is float:
        hints["step"] = plain_value(spec.step) if spec.step is not None else "any"
        return forms.FloatField(
            widget=forms.NumberInput(attrs=hints), error_messages={"invalid": "Enter a number."}, **common
        )
    hints.update({"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"})
    return forms.DecimalField(
        max_digits=MAX_DECIMAL_DIGITS,
        widget=forms.TextInput(attrs=hints),
        error_messages={"invalid": "Enter a number."},
        **common,
    )


def _initial(spec: sdk.Param[Any], value: object) -> object:
    return bool(value) if spec.kind is bool else plain_value(value)


class ConfigForm(forms.Form):
    """A named configuration of one strategy: ``name``, ``strategy`` (a definition key; fixed when
    ``editing``, else switching it fetches the new strategy's fields from ``switch_url``) and a field
    ``param_<name>`` per parameter of ``specs``, showing ``values`` (a stored configuration's) or the
    defaults."""

    name = forms.CharField(
        max_length=MAX_NAME_LENGTH, help_text="Yours to choose; unique among your configurations."
    )
    strategy = forms.ChoiceField(label="Strategy")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        definitions: Sequence[StrategyDefinition],
        specs: Mapping[str, sdk.Param[Any]],
        values: Mapping[str, Any] | None = None,
        editing: bool = False,
        switch_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.specs = dict(specs)
        strategy = self.fields["strategy"]
        strategy.choices = [(definition.key, definition.name) for definition in definitions]  # type: ignore[attr-defined]
        if editing:
            strategy.disabled = True
            strategy.help_text = "A configuration keeps its strategy: save a new one for another."
        elif switch_url:
            # htmx swaps in the chosen strategy's parameter fields (the server lays them out)
            strategy.widget.attrs.update(
                {"hx-get": switch_url, "hx-target": "#parameter-fields", "hx-swap": "outerHTML"}
            )
        for name, spec in self.specs.items():
            field = parameter_field(spec)
            field.initial = _initial(spec, (values or {}).get(name, spec.default))
            self.fields[PARAMETER_PREFIX + name] = field

    def parameter_fields(self) -> list[forms.BoundField]:
        return [self[PARAMETER_PREFIX + name] for name in self.specs]

    def parameters(self) -> dict[str, Any]:
        """The cleaned parameter values by parameter name (Decimals as text, as they are stored)."""
        values = {name: self.cleaned_data.get(PARAMETER_PREFIX + name) for name in self.specs}
        return {name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()}

    def field_of(self, error_field: str | None) -> str | None:
        """The form field a service's ``DomainError.field`` names (``parameters.fast`` -> ``param_fast``)."""
        if not error_field:
            return None
        head, _, rest = error_field.partition(".")
        name = PARAMETER_PREFIX + rest if head == "parameters" and rest else error_field
        return name if name in self.fields else None

    def add_service_error(self, error: DomainError) -> None:
        self.add_error(self.field_of(error.field), error.message)


def account_label(account: TradingAccount) -> str:
    return account.name if account.is_paper else f"{account.name} — LIVE"  # as the account switcher says


class DeployForm(forms.Form):
    """Where and how a configuration runs: one of the user's accounts (the services refuse live ones),
    its symbols, the timeframe whose closed bars tick it, its warm-up history and a name."""

    account = forms.ChoiceField(label="Account")
    symbols = forms.CharField(
        max_length=800,
        help_text=(
            f"One to {MAX_DEPLOYMENT_SYMBOLS} symbols separated by commas or spaces, e.g. BTC/USD, ETH/USD."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono", "placeholder": "BTC/USD"}
        ),
    )
    timeframe = forms.ChoiceField(
        choices=TIMEFRAME_CHOICES,
        initial=DEFAULT_TIMEFRAME,
        help_text="The strategy runs each time a bar of this width closes.",
    )
    warmup_bars = forms.IntegerField(
        label="Warm-up bars",
        initial=DEFAULT_WARMUP_BARS,
        min_value=0,
        max_value=MAX_WARMUP_BARS,
        help_text="Bars of history before the start that indicators are computed from.",
        widget=forms.NumberInput(attrs={"class": "num", "min": 0, "max": MAX_WARMUP_BARS, "step": 1}),
        error_messages={
            "invalid": "Enter a whole number.",
            "min_value": f"Between 0 and {MAX_WARMUP_BARS:,} bars.",
            "max_value": f"Between 0 and {MAX_WARMUP_BARS:,} bars.",
        },
    )
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH, required=False, help_text="Empty: the configuration's name."
    )

    SERVICE_FIELDS = {"account_id": "account", "config_id": None}

    def __init__(self, *args: Any, accounts: Sequence[TradingAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [(str(account.pk), account_label(account)) for account in accounts]  # type: ignore[attr-defined]

    def symbol_list(self) -> list[str]:
        return [symbol for symbol in re.split(r"[\s,;]+", self.cleaned_data.get("symbols", "")) if symbol]

    def clean_symbols(self) -> str:
        text: str = self.cleaned_data["symbols"]
        if not re.split(r"[\s,;]+", text.strip())[0]:
            raise forms.ValidationError("Enter at least one symbol.")
        return text

    def add_service_error(self, error: DomainError) -> None:
        name = self.SERVICE_FIELDS.get(error.field or "", error.field)
        self.add_error(name if name in self.fields else None, error.message)


class StopForm(forms.Form):
    close_positions = forms.BooleanField(
        label="Also close its positions at market",
        required=False,
        help_text="Its open orders are canceled either way.",
    )
