"""Django column factories for exact money, prices and quantities, with the precision of
``tradeapp.core.decimals`` (one place sets it for every NUMERIC column)."""

from __future__ import annotations

from typing import Any

from django.db import models

from tradeapp.core.decimals import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
)


def money_field(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


def price_field(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def quantity_field(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, **kwargs)
