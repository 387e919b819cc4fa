import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_unknown_api_path_is_a_json_404(client):
    response = Client().get("/api/v1/definitely/not/here")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_method_not_allowed_is_json(token_client):
    response = token_client.delete("/api/v1/me")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")

    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32


def test_domain_error_on_a_page_renders_its_message(client, user, rf):
    from tradeapp.core.errors import DomainError
    from tradeapp.core.middleware import DomainErrorMiddleware

    request = rf.get("/")
    request.user = user
    middleware = DomainErrorMiddleware(lambda r: None)

    response = middleware.process_exception(request, DomainError("halted", "Trading is halted.", status=409))

    assert response.status_code == 409
    assert b"Trading is halted." in response.content
