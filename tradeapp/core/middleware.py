"""Turns a DomainError escaping a page view into the right page: 404 for NotFound, else a 4xx page
with the reason. (API views render DomainError through tradeapp.core.api.exception_handler.)"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tradeapp.core.errors import DomainError, NotFound


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, DomainError):
            return render(request, "error.html", {"error": exception}, status=exception.status)
        return None
