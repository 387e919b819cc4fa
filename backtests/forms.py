"""The backtest form: strategy, its parameters (fields generated from the strategy's typed ``Param``s),
data, costs and the kind of analysis with its settings. It checks shape only (numbers are numbers, a
range is ``low:high:step``); ``backtests.services.create_backtest`` decides everything else and its
DomainError lands next to the field it names (``add_backtest_error``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from backtests.models import MAX_SYMBOLS, Backtest, BacktestKind, CommissionModel, SlippageModel
from backtests.services import MAX_COMBINATIONS, OBJECTIVES, BacktestRequest
from marketdata.domain import Timeframe
from strategies.sdk import Param, Strategy
from tradeapp.core.errors import DomainError

PARAM_PREFIX = "param_"
SPACE_PREFIX = "space_"
SEARCH_KINDS = (BacktestKind.GRID, BacktestKind.RANDOM, BacktestKind.WALK_FORWARD)
# the form's settings of each kind (kind_settings keys of the same name)
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    BacktestKind.SINGLE: (),
    BacktestKind.GRID: ("objective", "goal"),
    BacktestKind.RANDOM: ("objective", "goal", "samples", "seed"),
    BacktestKind.WALK_FORWARD: ("objective", "goal", "in_sample", "out_of_sample", "step", "anchored"),
    BacktestKind.MONTE_CARLO: ("simulations", "method", "seed"),
}
KIND_CHOICES = [
    (BacktestKind.SINGLE.value, "Single run"),
    (BacktestKind.GRID.value, "Grid search"),
    (BacktestKind.RANDOM.value, "Random search"),
    (BacktestKind.WALK_FORWARD.value, "Walk-forward"),
    (BacktestKind.MONTE_CARLO.value, "Monte Carlo"),
]
COMMISSION_CHOICES = [
    (CommissionModel.NONE.value, "None"),
    (CommissionModel.BPS.value, "Basis points of notional"),
    (CommissionModel.PER_SHARE.value, "Per unit, with a minimum"),
    (CommissionModel.PER_ORDER.value, "Flat per order"),
]
SLIPPAGE_CHOICES = [
    (SlippageModel.NONE.value, "None"),
    (SlippageModel.BPS.value, "Basis points of the price"),
    (SlippageModel.TICKS.value, "Whole ticks"),
]
OBJECTIVE_LABELS = {
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "total_return": "Total return",
    "annualized_return": "Annualised return",
    "max_drawdown": "Max drawdown",
    "win_rate": "Win rate",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy",
    "excess_return": "Return over buy and hold",
    "end_equity": "Final equity",
}
GOAL_CHOICES = [("", "Automatic (lowest for max drawdown)"), ("max", "Highest"), ("min", "Lowest")]
METHOD_CHOICES = [("bootstrap", "Bootstrap (draw with replacement)"), ("shuffle", "Shuffle (reorder)")]
DEFAULT_PERIOD_DAYS = 365


def _text_input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs})


def _decimal(label: str, *, help_text: str = "", required: bool = False) -> forms.DecimalField:
    """A decimal typed as text (``inputmode=decimal``): number inputs round and refuse a comma."""
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=28,
        decimal_places=10,
        help_text=help_text,
        widget=_text_input(inputmode="decimal", **{"class": "num"}),
        error_messages={"invalid": "Enter a number.", "required": "Enter an amount."},
    )


def _whole(label: str, *, help_text: str = "", minimum: int = 0) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": str(minimum), "step": "1", "class": "num"}),
        error_messages={"invalid": "Enter a whole number."},
    )


class BacktestForm(forms.Form):
    """What to run. Built for one strategy (``strategy_class``): its parameters become ``param_<name>``
    fields and, for searches, ``space_<name>`` fields (values to try: ``5, 10, 20`` or ``5:50:5``)."""

    name = forms.CharField(
        label="Name",
        max_length=120,
        required=False,
        help_text="Optional: helps you find the run later.",
        widget=_text_input(placeholder="e.g. SMA crossover, 2024"),
    )
    strategy = forms.CharField(label="Strategy", max_length=200, widget=forms.Select)
    symbols = forms.CharField(
        label="Symbols",
        max_length=1000,
        help_text=f"One or more, separated by commas (up to {MAX_SYMBOLS}).",
        widget=_text_input(placeholder="e.g. AAPL, MSFT", autocapitalize="characters"),
        error_messages={"required": "Choose at least one symbol."},
    )
    timeframe = forms.ChoiceField(
        label="Timeframe", choices=[(member.value, member.value) for member in Timeframe], initial="1d"
    )
    start = forms.DateField(
        label="First day",
        help_text="UTC; bars opening on or after this day.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the first day.", "invalid": "Enter a date (YYYY-MM-DD)."},
    )
    end = forms.DateField(
        label="Last day",
        help_text="UTC; included.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Enter the last day.", "invalid": "Enter a date (YYYY-MM-DD)."},
    )
    starting_cash = _decimal("Starting cash", required=True)
    commission_model = forms.ChoiceField(
        label="Commission", choices=COMMISSION_CHOICES, initial=CommissionModel.NONE.value
    )
    commission_rate = _decimal(
        "Commission rate", help_text="Basis points, per unit or per order, by the model."
    )
    commission_minimum = _decimal("Minimum per order", help_text="Per-unit commission only.")
    slippage_model = forms.ChoiceField(
        label="Slippage", choices=SLIPPAGE_CHOICES, initial=SlippageModel.NONE.value
    )
    slippage_amount = _decimal("Slippage amount", help_text="Basis points or ticks, by the model.")
    warmup_bars = _whole(
        "Warm-up bars",
        help_text="History before the first day for indicators. Empty: three times the longest window.",
    )
    kind = forms.ChoiceField(
        label="Kind of run", choices=KIND_CHOICES, initial=BacktestKind.SINGLE.value, widget=forms.RadioSelect
    )
    objective = forms.ChoiceField(
        label="Optimise for",
        choices=[(name, OBJECTIVE_LABELS.get(name, name)) for name in OBJECTIVES],
        initial="sharpe",
        required=False,
    )
    goal = forms.ChoiceField(label="Best is", choices=GOAL_CHOICES, required=False)
    samples = _whole("Samples", help_text=f"Random combinations to try (1 to {MAX_COMBINATIONS}).", minimum=1)
    seed = _whole("Seed", help_text="The same seed draws the same numbers.")
    in_sample = _whole("In-sample bars", help_text="Bars each window optimises on.", minimum=2)
    out_of_sample = _whole("Out-of-sample bars", help_text="Bars the winner then trades.", minimum=1)
    step = _whole(
        "Step (bars)", help_text="How far windows move. Empty: the out-of-sample length.", minimum=1
    )
    anchored = forms.BooleanField(label="Anchored (every window starts at the first bar)", required=False)
    simulations = _whole(
        "Simulations", help_text="Resamplings of the run's trades (100 to 100,000).", minimum=100
    )
    method = forms.ChoiceField(label="Method", choices=METHOD_CHOICES, initial="bootstrap", required=False)

    def __init__(
        self,
        *args: Any,
        catalog: Mapping[str, type[Strategy]],
        strategy_key: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        self.strategy_key = strategy_key
        self.strategy_class = catalog.get(strategy_key)
        self.section_errors: dict[str, list[str]] = {}
        choices = [(key, klass.title or klass.__name__) for key, klass in catalog.items()]
        if strategy_key and strategy_key not in catalog:
            choices.append((strategy_key, f"{strategy_key} (unavailable)"))
        self.fields["strategy"].widget.choices = choices
        self.specs: dict[str, Param[Any]] = (
            self.strategy_class.parameter_specs() if self.strategy_class is not None else {}
        )
        for name, spec in self.specs.items():
            self.fields[PARAM_PREFIX + name] = parameter_field(spec)
            self.fields[SPACE_PREFIX + name] = space_field(spec)

    # --- the generated fields, for the template ------------------------------------------------------

    @property
    def parameter_fields(self) -> list[forms.BoundField]:
        return [self[PARAM_PREFIX + name] for name in self.specs]

    @property
    def space_fields(self) -> list[forms.BoundField]:
        return [self[SPACE_PREFIX + name] for name in self.specs]

    def fields_named(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names]

    # --- checking shape ---------------------------------------------------------------------------------

    def clean_symbols(self) -> list[str]:
        text = self.cleaned_data["symbols"]
        symbols = list(
            dict.fromkeys(part.strip() for part in text.replace(";", ",").split(",") if part.strip())
        )
        if not symbols:
            raise forms.ValidationError("Choose at least one symbol.")
        return symbols

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # amounts of a cost model not chosen are dropped, not refused: a hidden box may still hold what
        # was typed before the model changed
        if data.get("commission_model") == CommissionModel.NONE:
            data["commission_rate"] = None
        if data.get("commission_model") != CommissionModel.PER_SHARE:
            data["commission_minimum"] = None
        if data.get("slippage_model") == SlippageModel.NONE:
            data["slippage_amount"] = None
        kind = data.get("kind")
        if kind in SEARCH_KINDS:
            space = {}
            for name, spec in self.specs.items():
                field = SPACE_PREFIX + name
                text = (data.get(field) or "").strip()
                if not text:
                    continue
                try:
                    space[name] = search_values(spec, text)
                except forms.ValidationError as error:
                    self.add_error(field, error)
            data["space"] = space
            if not space and kind != BacktestKind.RANDOM and not self.errors:
                self.add_section_error("space", "Give the values to try for at least one parameter.")
        return data

    def add_section_error(self, section: str, message: str) -> None:
        self.section_errors.setdefault(section, []).append(message)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.section_errors

    # --- what to run ------------------------------------------------------------------------------------

    def to_request(self) -> BacktestRequest:
        data = self.cleaned_data
        parameters = self._parameters()
        return BacktestRequest(
            name=data.get("name") or "",
            strategy=data["strategy"],
            parameters=parameters,
            symbols=data["symbols"],
            timeframe=data["timeframe"],
            start=day_start(data["start"]),
            end=day_start(data["end"] + timedelta(days=1)),  # the last day is included
            starting_cash=data["starting_cash"],
            commission_model=data["commission_model"],
            commission_rate=data.get("commission_rate") or Decimal(0),
            commission_minimum=data.get("commission_minimum") or Decimal(0),
            slippage_model=data["slippage_model"],
            slippage_amount=data.get("slippage_amount") or Decimal(0),
            kind=data["kind"],
            kind_settings=self._kind_settings(parameters),
            warmup_bars=data.get("warmup_bars"),
        )

    def _parameters(self) -> dict[str, Any]:
        """The typed values (the strategy parses and checks them); an empty box takes the default."""
        values: dict[str, Any] = {}
        for name, spec in self.specs.items():
            value = self.cleaned_data.get(PARAM_PREFIX + name)
            if spec.kind is bool:
                values[name] = bool(value)
            elif value not in (None, ""):
                values[name] = value
        return values

    def _kind_settings(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        settings: dict[str, Any] = {}
        for name in KIND_FIELDS[kind]:
            value = data.get(name)
            if name == "goal":
                if value:
                    settings["maximize"] = value == "max"
            elif name == "anchored":
                settings[name] = bool(value)
            elif value not in (None, ""):
                settings[name] = value
        if kind in SEARCH_KINDS and data.get("space"):
            # a parameter without values to try stays at the value chosen above (not the default)
            settings["space"] = {
                name: data["space"].get(name) or [parameters.get(name, spec.default)]
                for name, spec in self.specs.items()
            }
        return settings


def parameter_field(spec: Param[Any]) -> forms.Field:
    """A strategy parameter as a form field: a checkbox, a select of its choices, a number (with its
    range and step for the browser's spinner) or text. Values are checked by the strategy."""
    described = spec.describe()
    label = str(described["label"])
    hints = [str(described["help"])] if described["help"] else []
    if spec.kind is bool:
        hints.append(f"Default: {'on' if spec.default else 'off'}.")
        return forms.BooleanField(
            label=label, required=False, initial=spec.default, help_text=" ".join(hints)
        )
    if spec.choices is not None:
        hints.append(f"Default: {described['default']}.")
        return forms.CharField(  # the strategy checks the choice (and says which are allowed)
            label=label,
            required=False,
            max_length=200,
            initial=str(spec.default),
            help_text=" ".join(hints),
            widget=forms.Select(choices=[(str(choice), str(choice)) for choice in spec.choices]),
        )
    hints.append(f"Default: {described['default']}{range_text(described)}.")
    if spec.kind is str:
        return forms.CharField(
            label=label, required=False, max_length=200, initial=spec.default, help_text=" ".join(hints)
        )
    attrs = {"class": "num", "step": str(described["step"] or "any")}
    if described["minimum"] is not None:
        attrs["min"] = str(described["minimum"])
    if described["maximum"] is not None:
        attrs["max"] = str(described["maximum"])
    return forms.CharField(
        label=label,
        required=False,
        max_length=40,
        initial=str(described["default"]),
        help_text=" ".join(hints),
        widget=forms.NumberInput(attrs=attrs),
    )


def range_text(described: Mapping[str, object]) -> str:
    low, high = described["minimum"], described["maximum"]
    if low is not None and high is not None:
        return f" · {low} to {high}"
    if low is not None:
        return f" · at least {low}"
    if high is not None:
        return f" · at most {high}"
    return ""


def space_field(spec: Param[Any]) -> forms.CharField:
    if spec.kind is bool:
        example = "true, false"
    elif spec.choices is not None:
        example = ", ".join(str(choice) for choice in spec.choices)
    elif spec.kind is str:
        example = "text, other text"
    else:
        low = spec.minimum if spec.minimum is not None else spec.default
        high = spec.maximum if spec.maximum is not None else spec.default
        example = f"5, 10, 20 or {low}:{high}:{spec.step or 1}"
    return forms.CharField(
        label=f"{spec.label} values",  # not just the label: the parameter's own field has that one
        required=False,
        max_length=2000,
        widget=_text_input(placeholder=f"e.g. {example}"),
    )


def search_values(spec: Param[Any], text: str) -> list[str]:
    """The values to try typed for one parameter: a comma-separated list, or for numbers a range
    ``low:high`` (by the parameter's step) or ``low:high:step``, both ends included. Values stay text:
    the strategy's parameter parses and checks each one."""
    if ":" not in text:
        values = [part.strip() for part in text.split(",") if part.strip()]
    elif spec.kind in (int, float, Decimal):
        values = _expand_range(spec, text)
    else:
        raise forms.ValidationError("A range (low:high:step) is for numbers: list the values instead.")
    if not values:
        raise forms.ValidationError("Give at least one value.")
    if len(values) > MAX_COMBINATIONS:
        raise forms.ValidationError(f"That is {len(values):,} values: give at most {MAX_COMBINATIONS}.")
    return list(dict.fromkeys(values))


def _expand_range(spec: Param[Any], text: str) -> list[str]:
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3):
        raise forms.ValidationError("Write a range as low:high or low:high:step.")
    try:
        low, high = Decimal(parts[0]), Decimal(parts[1])
        step = Decimal(parts[2]) if len(parts) == 3 else Decimal(str(spec.step or 1))
    except InvalidOperation as error:
        raise forms.ValidationError("A range needs numbers: low:high:step.") from error
    if not (low.is_finite() and high.is_finite() and step.is_finite()):
        raise forms.ValidationError("A range needs numbers: low:high:step.")
    if step <= 0:
        raise forms.ValidationError("The step of a range must be positive.")
    if high < low:
        raise forms.ValidationError("The range runs backwards: put the lower value first.")
    count = int((high - low) / step) + 1
    if count > MAX_COMBINATIONS:
        raise forms.ValidationError(f"That range has {count:,} values: give at most {MAX_COMBINATIONS}.")
    return [f"{(low + step * index).normalize():f}" for index in range(count)]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- prefilling ---------------------------------------------------------------------------------------


def default_initial(today: date) -> dict[str, Any]:
    return {
        "timeframe": Timeframe.D1.value,
        "start": today - timedelta(days=DEFAULT_PERIOD_DAYS),
        "end": today - timedelta(days=1),
        "starting_cash": Decimal(100_000),
        "commission_model": CommissionModel.NONE.value,
        "slippage_model": SlippageModel.NONE.value,
        "kind": BacktestKind.SINGLE.value,
        "objective": "sharpe",
        "method": "bootstrap",
    }


def parameter_initial(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Initial ``param_<name>`` values from stored parameters (a configuration or a run)."""
    return {PARAM_PREFIX + name: _shown(value) for name, value in parameters.items()}


def _plain_decimal(value: Decimal) -> str:
    """``10000.0000000000`` -> ``10000`` (never ``1E+4``)."""
    return f"{value.normalize():f}"


def _shown(value: Any) -> Any:
    return value if isinstance(value, bool) else str(value)


def initial_from_run(row: Backtest) -> dict[str, Any]:
    """The form filled with a run's settings, to run it again or change a little."""
    settings = dict(row.kind_settings or {})
    initial: dict[str, Any] = {
        "name": row.name,
        "strategy": row.strategy,
        "symbols": ", ".join(row.symbols),
        "timeframe": row.timeframe,
        "start": row.start.astimezone(UTC).date(),
        "end": (row.end.astimezone(UTC) - timedelta(microseconds=1)).date(),
        "starting_cash": _plain_decimal(row.starting_cash),
        "commission_model": row.commission_model,
        "commission_rate": _plain_decimal(row.commission_rate),
        "commission_minimum": _plain_decimal(row.commission_minimum),
        "slippage_model": row.slippage_model,
        "slippage_amount": _plain_decimal(row.slippage_amount),
        "warmup_bars": row.warmup_bars,
        "kind": row.kind,
        **parameter_initial(row.parameters or {}),
    }
    for name in ("objective", "samples", "seed", "in_sample", "out_of_sample", "step", "anchored"):
        if name in settings:
            initial[name] = settings[name]
    if "simulations" in settings:
        initial["simulations"] = settings["simulations"]
        initial["method"] = settings.get("method", "bootstrap")
    if "maximize" in settings:
        initial["goal"] = "max" if settings["maximize"] else "min"
    for name, values in (settings.get("space") or {}).items():
        fixed = len(values) == 1 and str(values[0]) == str((row.parameters or {}).get(name))
        if not fixed:
            initial[SPACE_PREFIX + name] = ", ".join(_space_text(value) for value in values)
    return initial


def _space_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# --- errors from the service --------------------------------------------------------------------------


def form_field_of(error_field: str | None, form: BacktestForm) -> tuple[str | None, str | None]:
    """``(field, section)`` where a service error naming ``error_field`` is shown: a form field, or a
    section of the form (``parameters``, ``space``) for errors about the whole group."""
    if not error_field:
        return None, None
    parts = error_field.split(".")
    head = parts[0]
    if head == "parameters":
        field = PARAM_PREFIX + parts[1] if len(parts) > 1 else ""
        return (field, None) if field in form.fields else (None, "parameters")
    if head == "kind_settings" and len(parts) > 1:
        if parts[1] == "space":
            field = SPACE_PREFIX + parts[2] if len(parts) > 2 else ""
            return (field, None) if field in form.fields else (None, "space")
        name = "goal" if parts[1] == "maximize" else parts[1]
        return (name, None) if name in form.fields else (None, None)
    return (head, None) if head in form.fields else (None, None)


def add_backtest_error(form: BacktestForm, error: DomainError) -> None:
    field, section = form_field_of(error.field, form)
    if section is not None:
        form.add_section_error(section, error.message)
    else:
        form.add_error(field, error.message)
