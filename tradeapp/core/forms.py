"""Glue between DomainError and Django forms: the service's reason appears next to its field."""

from __future__ import annotations

from django import forms

from tradeapp.core.errors import DomainError


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
