"""Websocket origin policy: browsers must come from one of our hosts; clients without an Origin
header (scripts, integrators) are not browsers, so their cookies are ignored and only a token works."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host


class OriginPolicyMiddleware:
    def __init__(self, inner: Any):
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = next((value for name, value in scope.get("headers", []) if name == b"origin"), None)
        if origin is None:
            headers = [(name, value) for name, value in scope.get("headers", []) if name != b"cookie"]
            scope = {**scope, "headers": headers}
        else:
            host = urlparse(origin.decode("latin1")).hostname or ""
            allowed = settings.ALLOWED_HOSTS or (
                ["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
            )
            if not validate_host(host, allowed):
                return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)
