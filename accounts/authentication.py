"""API-token authentication for REST (``Authorization: Token <key>``) and for websockets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from structlog.contextvars import bind_contextvars

from accounts.models import ApiToken, User
from accounts.services import hash_token_key
from tradeapp.core import clock

LAST_USED_RESOLUTION = timedelta(minutes=1)  # avoid a write on every request


def user_for_token_key(key: str) -> User | None:
    """The active user owning this raw key, or None. Records last use at most once a minute."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("owner")
        .filter(key_hash=hash_token_key(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.owner.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.owner


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Any) -> tuple[User, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"token", b"bearer"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'.")
        user = user_for_token_key(header[1].decode("latin1"))
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        bind_contextvars(user_id=user.pk)
        return user, None

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


def _websocket_token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin1").split()
            if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    return (query.get("token") or [None])[0]


class WebsocketTokenAuthMiddleware:
    """Authenticates by API token when one is given; otherwise leaves the session user in place.

    Sits inside AuthMiddlewareStack so an explicit token wins over a cookie session."""

    def __init__(self, inner: Any):
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = _websocket_token(scope)
        if key is not None:
            user = await database_sync_to_async(user_for_token_key)(key)
            scope = {**scope, "user": user or AnonymousUser(), "auth_method": "token"}
        return await self.inner(scope, receive, send)
