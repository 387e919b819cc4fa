"""How every HTML page answers a POST (no business rules), so all pages speak one protocol.

A POST works as a plain form (a flashed message and a redirect) and the same URL answers JSON to
``fetch`` (``Accept: application/json``), with the sentences the page would show:

- :func:`done`: it worked; ``{"message", ...}`` (the view adds what its script needs);
- :func:`failed`: a service said no; ``{"code", "message", "field"}`` with the error's 4xx;
- :func:`invalid`: the form was refused; ``{"code", "message", "errors": {field: [..]}}`` with a 4xx
  (a page without JavaScript re-renders the form with its errors instead)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from tradeapp.core.errors import DomainError


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` field or query parameter when it is a path on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed and target.startswith("/") else default


def form_errors(form: Any) -> dict[str, list[str]]:
    """The form's errors by field, plus the errors of its sections (``section_errors``) if it has any."""
    errors = {name: [str(message) for message in found] for name, found in form.errors.items()}
    for name, found in getattr(form, "section_errors", {}).items():
        errors[name] = [str(message) for message in found]
    return errors


def first_error(form: Any, default: str = "Check the form.") -> str:
    for found in form_errors(form).values():
        for message in found:
            return message
    return default


def done(request: HttpRequest, message: str, *, to: str, status: int = 200, **body: Any) -> HttpResponse:
    """The answer to a POST that worked: for fetch, ``{"message", **body}`` with ``status``; else the
    message flashed as a success and a redirect to ``to``."""
    if wants_json(request):
        return JsonResponse({"message": message, **body}, status=status)
    messages.success(request, message)
    return redirect(to)


def failed(request: HttpRequest, error: DomainError, *, to: str) -> HttpResponse:
    """The answer to a POST a service refused: for fetch, the API's error shape with the error's status;
    else its message flashed as an error and a redirect to ``to``."""
    if wants_json(request):
        return JsonResponse(error.as_dict(), status=error.status)
    messages.error(request, error.message)
    return redirect(to)


def invalid(
    form: Any, *, status: int = 400, code: str = "invalid", default: str = "Check the form."
) -> JsonResponse:
    """A refused form as JSON for fetch: its first error as the message, every error by field."""
    return JsonResponse(
        {"code": code, "message": first_error(form, default), "errors": form_errors(form)}, status=status
    )
