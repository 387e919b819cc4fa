"""Account pages: sign-up, login, account switching/reset and tokens, with owner checks."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken, TradingAccount, User

pytestmark = pytest.mark.django_db


def test_signup_creates_user_with_paper_account_and_logs_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "a-long-passphrase-9",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.trading_accounts.get().is_paper
    assert client.get(reverse("dashboard")).status_code == 200


def test_signup_with_a_weak_password_shows_the_reason_and_writes_nothing(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "12345",
        },
    )

    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(username="newbie").exists()


def test_wrong_credentials_show_a_form_message(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "nope"})

    assert response.status_code == 200
    assert "Wrong username or password." in response.content.decode()


def test_login_and_logout(client, user):
    response = client.post(
        reverse("accounts:login"),
        {
            "username": user.username,
            "password": "correct horse battery staple",
        },
    )
    assert response.status_code == 302

    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_pages_require_login(client):
    for name in ("dashboard", "accounts:list", "accounts:settings"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


def test_dashboard_shows_paper_badge_and_cash(client, user):
    client.force_login(user)

    page = client.get(reverse("dashboard")).content.decode()

    assert "PAPER" in page.upper()
    assert "100,000.00" in page


def test_open_and_switch_accounts(client, user):
    client.force_login(user)

    client.post(reverse("accounts:list"), {"name": "Swing", "starting_cash": "2500.00"})
    swing = TradingAccount.objects.get(owner=user, name="Swing")
    first = TradingAccount.objects.get(owner=user, name="Paper")
    client.post(reverse("accounts:switch", args=[first.pk]))

    assert swing.cash == 2500
    assert client.session["current_account_id"] == str(first.pk)


def test_bad_starting_cash_is_a_form_message(client, user):
    client.force_login(user)

    response = client.post(reverse("accounts:list"), {"name": "X", "starting_cash": "-1"})

    assert response.status_code == 200
    assert "starting_cash" in response.context["form"].errors
    assert user.trading_accounts.count() == 1


def test_another_users_account_pages_are_404(client, user, other_user):
    client.force_login(user)
    foreign = other_user.trading_accounts.get()

    assert client.post(reverse("accounts:switch", args=[foreign.pk])).status_code == 404
    assert (
        client.post(reverse("accounts:reset", args=[foreign.pk]), {"starting_cash": "1"}).status_code == 404
    )
    assert client.post(reverse("accounts:switch", args=["not-a-uuid"])).status_code == 404
    assert client.session.get("current_account_id") != str(foreign.pk)


def test_reset_from_the_page(client, user):
    client.force_login(user)
    account = user.trading_accounts.get()
    TradingAccount.objects.filter(pk=account.pk).update(cash=5)

    client.post(reverse("accounts:reset", args=[account.pk]), {"starting_cash": "50000"})

    account.refresh_from_db()
    assert account.cash == 50000


def test_token_key_is_shown_once(client, user):
    client.force_login(user)

    created = client.post(reverse("accounts:settings"), {"name": "bot"})
    again = client.get(reverse("accounts:settings"))

    key = created.context["new_key"]
    assert key
    assert key in created.content.decode()
    assert key not in again.content.decode()
    assert ApiToken.objects.get(owner=user).key_hash != key


def test_revoking_another_users_token_is_404(client, user, other_user):
    from accounts.services import create_api_token

    token, _ = create_api_token(owner=other_user, name="theirs")
    client.force_login(user)

    assert client.post(reverse("accounts:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_password_reset_sends_a_mail(client, user, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": user.email})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/" in mailoutbox[0].body


def test_user_made_in_admin_gets_a_paper_account_on_first_visit(client):
    admin_made = User.objects.create_user(
        username="late", email="late@example.com", password="x-long-password-1"
    )
    client.force_login(admin_made)

    client.get(reverse("dashboard"))

    assert admin_made.trading_accounts.count() == 1


def test_switch_never_redirects_off_site(client, user):
    client.force_login(user)
    account = user.trading_accounts.get()

    response = client.post(reverse("accounts:switch", args=[account.pk]), {"next": "https://evil.example/x"})

    assert response["Location"] == reverse("dashboard")


def test_switch_uses_the_posted_account_from_the_header_select(client, user):
    from accounts.services import open_paper_account

    second = open_paper_account(owner=user, name="Second")
    first = user.trading_accounts.get(name="Paper")
    client.force_login(user)

    client.post(
        reverse("accounts:switch", args=[first.pk]), {"account": str(second.pk), "next": "/accounts/"}
    )

    assert client.session["current_account_id"] == str(second.pk)


def test_dashboard_shows_pnl_since_start(client, user):
    account = user.trading_accounts.get()
    TradingAccount.objects.filter(pk=account.pk).update(cash="99000.01")
    client.force_login(user)

    page = client.get(reverse("dashboard")).content.decode()

    assert "-999.99" in page
    assert "(-1.00%)" in page
