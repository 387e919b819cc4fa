"""Websocket URL routes."""

from django.urls import path

from tradeapp.core.consumers import StreamConsumer

websocket_urlpatterns = [path("ws/", StreamConsumer.as_asgi())]
