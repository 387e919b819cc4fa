"""What the HTML pages share (no business rules). Every POST works as a plain form (redirect with a
message) and answers JSON to ``fetch`` (``Accept: application/json``); a refused form answers
``{"code", "message", "errors": {field: [..]}}`` with a 4xx, the sentences the page would show."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme


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
    errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    for name, messages in getattr(form, "section_errors", {}).items():
        errors[name] = [str(message) for message in messages]
    return errors


def first_error(form: Any, default: str = "Check the form.") -> str:
    for messages in form_errors(form).values():
        for message in messages:
            return message
    return default


def invalid_form(
    form: Any, *, status: int = 400, code: str = "invalid", default: str = "Check the form."
) -> JsonResponse:
    """A refused form as JSON: its first error as the message, every error by field."""
    return JsonResponse(
        {"code": code, "message": first_error(form, default), "errors": form_errors(form)}, status=status
    )
