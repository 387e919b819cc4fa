"""Structured logs: JSON lines carrying the request id and user id of the request that wrote them."""

import io
import json
import logging
import logging.config

import pytest
import structlog

from tradeapp.core.logging import build_logging_config


@pytest.fixture
def json_logs(settings):
    """Configure production-style logging and return the stream the console handler writes to."""
    structlog.reset_defaults()
    logging.config.dictConfig(build_logging_config(level="INFO", fmt="json"))
    stream = io.StringIO()
    [handler] = [h for h in logging.getLogger().handlers if h.name == "console"]
    handler.setStream(stream)
    yield stream
    structlog.reset_defaults()
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.django_db
def test_api_request_logs_carry_request_and_user_ids(json_logs, token_client, user, monkeypatch):
    from accounts.api import views

    original = views.MeView.get

    def logging_get(self, request):
        structlog.get_logger("tradeapp.test").info("me requested", symbol="AAPL")
        return original(self, request)

    monkeypatch.setattr(views.MeView, "get", logging_get)

    token_client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-42")

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    [entry] = [line for line in lines if line.get("event") == "me requested"]
    assert entry["request_id"] == "req-42"
    assert entry["user_id"] == user.pk
    assert entry["level"] == "info"
    assert entry["symbol"] == "AAPL"
    assert entry["timestamp"].endswith("Z")
