"""ASGI entry point (daphne): HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeapp.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.authentication import WebsocketTokenAuthMiddleware  # noqa: E402
from tradeapp.core.websocket import OriginPolicyMiddleware  # noqa: E402
from tradeapp.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginPolicyMiddleware(
            AuthMiddlewareStack(WebsocketTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
