"""The one domain error type: a stable machine code, a sentence for people, and the field at fault.

Services raise it; the API renders it as ``{"code", "message", "field"}`` with a 4xx status, and the UI
shows the message next to the field. Codes are part of the public API: never rename one.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no. ``status`` is the HTTP status the API uses (4xx)."""

    status: int = 400

    def __init__(self, code: str, message: str, field: str | None = None, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class NotFound(DomainError):
    """The object does not exist *for this user*: the same answer whether it is missing or foreign."""

    status = 404

    def __init__(self, message: str = "Not found.", field: str | None = None):
        super().__init__("not_found", message, field)


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = "You may not do that.", code: str = "permission_denied"):
        super().__init__(code, message)


class Conflict(DomainError):
    """The request is valid but the object's state does not allow it now."""

    status = 409
