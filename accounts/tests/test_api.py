import json

import pytest

from accounts.models import TradingAccount

pytestmark = pytest.mark.django_db


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["field"] == field
    assert body["message"]
    return body


def test_me_with_token(token_client, user):
    response = token_client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_anonymous_gets_a_json_401(api_client):
    assert_error(api_client.get("/api/v1/accounts"), 401, "not_authenticated")


def test_wrong_token_gets_a_json_401(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token ta_not-a-real-key")

    assert_error(api_client.get("/api/v1/me"), 401, "authentication_failed")


def test_revoked_token_no_longer_works(api_client, user):
    from accounts.services import create_api_token, revoke_api_token

    token, key = create_api_token(owner=user, name="old")
    revoke_api_token(owner=user, token_id=token.pk)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert_error(api_client.get("/api/v1/me"), 401, "authentication_failed")


def test_list_shows_only_own_accounts(token_client, user, other_user):
    response = token_client.get("/api/v1/accounts")

    ids = {row["id"] for row in response.json()}
    assert ids == {str(a.pk) for a in user.trading_accounts.all()}
    assert response.json()[0]["cash"] == "100000.0000000000"


def test_another_users_account_is_404_for_every_verb(token_client, other_user):
    foreign = other_user.trading_accounts.get()

    assert_error(token_client.get(f"/api/v1/accounts/{foreign.pk}"), 404, "not_found")
    assert_error(
        token_client.patch(f"/api/v1/accounts/{foreign.pk}", {"name": "x"}, format="json"), 404, "not_found"
    )
    assert_error(
        token_client.post(f"/api/v1/accounts/{foreign.pk}/reset", {}, format="json"), 404, "not_found"
    )
    assert_error(token_client.get("/api/v1/accounts/not-a-uuid"), 404, "not_found")
    foreign.refresh_from_db()
    assert foreign.name == "Paper"


def test_create_paper_account(token_client, user):
    response = token_client.post(
        "/api/v1/accounts", {"name": "Crypto", "starting_cash": "2500.00"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "paper"
    assert response.json()["cash"] == "2500.0000000000"
    assert user.trading_accounts.count() == 2


def test_unknown_field_is_named(token_client, user):
    response = token_client.post("/api/v1/accounts", {"name": "X", "startng_cash": "5"}, format="json")

    assert_error(response, 400, "unknown_field", "startng_cash")
    assert user.trading_accounts.count() == 1


def test_invalid_starting_cash_is_named(token_client, user):
    response = token_client.post("/api/v1/accounts", {"starting_cash": "-3"}, format="json")

    body = assert_error(response, 400, "min_value", "starting_cash")
    assert "starting_cash" in body["errors"]


def test_domain_rule_violation_is_named(token_client, user):
    response = token_client.post("/api/v1/accounts", {"name": "paper"}, format="json")

    assert_error(response, 400, "duplicate_name", "name")


def test_malformed_json_is_a_400(token_client):
    response = token_client.generic("POST", "/api/v1/accounts", "{not json", content_type="application/json")

    assert_error(response, 400, "malformed_request")


def test_a_json_array_body_is_a_400(token_client):
    response = token_client.generic(
        "POST", "/api/v1/accounts", json.dumps([1, 2]), content_type="application/json"
    )

    assert_error(response, 400, "malformed_request")


def test_wrong_content_type_is_a_415(token_client):
    response = token_client.generic("POST", "/api/v1/accounts", "name=x", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_reset_to_a_chosen_cash(token_client, user):
    account = user.trading_accounts.get()
    TradingAccount.objects.filter(pk=account.pk).update(cash=1)

    response = token_client.post(
        f"/api/v1/accounts/{account.pk}/reset", {"starting_cash": "777.77"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["cash"] == "777.7700000000"


def test_tokens_create_list_revoke(token_client, user):
    created = token_client.post("/api/v1/tokens", {"name": "bot"}, format="json")
    listed = token_client.get("/api/v1/tokens")
    revoked = token_client.delete(f"/api/v1/tokens/{created.json()['id']}")

    assert created.status_code == 201
    assert created.json()["key"].startswith("ta_")
    assert all("key" not in row and "key_hash" not in row for row in listed.json())
    assert revoked.status_code == 204


def test_another_users_token_cannot_be_revoked(token_client, other_user):
    from accounts.services import create_api_token

    token, _ = create_api_token(owner=other_user, name="theirs")

    assert_error(token_client.delete(f"/api/v1/tokens/{token.pk}"), 404, "not_found")
    token.refresh_from_db()
    assert token.is_active


def test_session_auth_requires_csrf(client, user):
    client.force_login(user)
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    response = strict.post("/api/v1/accounts", {"name": "x"}, content_type="application/json")

    assert_error(response, 403, "permission_denied")


def test_unknown_api_path_is_json_404(token_client):
    response = token_client.get("/api/v1/nope")

    assert_error(response, 404, "not_found")


def test_openapi_schema_lists_the_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/me", "/api/v1/accounts", "/api/v1/accounts/{account_id}/reset", "/api/v1/tokens"} <= set(
        paths
    )


def test_interactive_docs_are_served_offline(client):
    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn" not in page.content.lower()
