from decimal import Decimal

import pytest

from accounts import services
from accounts.models import AccountStatus, TradingAccount
from accounts.tests.factories import TradingAccountFactory, UserFactory
from tradeapp.core.errors import DomainError, NotFound

pytestmark = pytest.mark.django_db


def test_register_user_opens_a_funded_paper_account():
    user = services.register_user(username="alice", email="alice@example.com", password="a-long-passphrase-9")

    [account] = TradingAccount.objects.filter(owner=user)
    assert account.is_paper
    assert account.cash == account.starting_cash == Decimal("100000.00")
    assert account.status == AccountStatus.ACTIVE


@pytest.mark.parametrize(
    ("username", "email", "password", "field"),
    [
        ("TAKEN", "new@example.com", "a-long-passphrase-9", "username"),
        ("newname", "TAKEN@example.com", "a-long-passphrase-9", "email"),
        ("newname", "new@example.com", "123", "password"),
        ("newname", "new@example.com", "password123", "password"),
    ],
)
def test_register_user_names_the_field_at_fault(username, email, password, field):
    UserFactory(username="taken", email="taken@example.com")

    with pytest.raises(DomainError) as error:
        services.register_user(username=username, email=email, password=password)

    assert error.value.field == field


def test_open_paper_account_with_chosen_cash_and_default_names(user):
    second = services.open_paper_account(owner=user, starting_cash="2500.50")
    third = services.open_paper_account(owner=user, name="Swing", starting_cash=Decimal(5000))

    assert (second.name, second.cash) == ("Paper 2", Decimal("2500.50"))
    assert (third.name, third.cash) == ("Swing", Decimal(5000))


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.001", "1e12", 1.5])
def test_open_paper_account_refuses_bad_starting_cash(user, amount):
    with pytest.raises(DomainError) as error:
        services.open_paper_account(owner=user, starting_cash=amount)

    assert error.value.field == "starting_cash"
    assert TradingAccount.objects.filter(owner=user).count() == 1


def test_open_paper_account_refuses_a_duplicate_name_case_insensitively(user):
    with pytest.raises(DomainError) as error:
        services.open_paper_account(owner=user, name="paper")

    assert (error.value.code, error.value.field) == ("duplicate_name", "name")


def test_reset_paper_account_restores_cash_and_reactivates(user):
    account = user.trading_accounts.get()
    TradingAccount.objects.filter(pk=account.pk).update(cash=Decimal(12), status=AccountStatus.HALTED)

    reset = services.reset_paper_account(owner=user, account_id=account.pk, starting_cash="5000")

    assert (reset.cash, reset.starting_cash, reset.status) == (
        Decimal(5000),
        Decimal(5000),
        AccountStatus.ACTIVE,
    )
    assert reset.reset_at is not None


def test_reset_of_another_users_account_is_not_found(user, other_user):
    foreign = other_user.trading_accounts.get()

    with pytest.raises(NotFound):
        services.reset_paper_account(owner=user, account_id=foreign.pk)

    foreign.refresh_from_db()
    assert foreign.reset_at is None


def test_live_accounts_cannot_be_reset(user):
    live = TradingAccountFactory(owner=user, kind="live", name="Broker")

    with pytest.raises(DomainError) as error:
        services.reset_paper_account(owner=user, account_id=live.pk)

    assert error.value.code == "not_paper"


def test_cash_can_never_be_negative_in_the_database(user):
    from django.db import IntegrityError

    account = user.trading_accounts.get()
    with pytest.raises(IntegrityError):
        TradingAccount.objects.filter(pk=account.pk).update(cash=Decimal("-0.01"))


def test_api_token_is_stored_hashed_and_revocable(user):
    token, key = services.create_api_token(owner=user, name="bot")

    assert key.startswith("ta_")
    assert key not in (token.key_hash, token.prefix)
    assert token.key_hash == services.hash_token_key(key)
    services.revoke_api_token(owner=user, token_id=token.pk)
    token.refresh_from_db()
    assert not token.is_active


def test_ensure_demo_user_makes_one_user_and_prints_password_once():
    user, password = services.ensure_demo_user(username="demo")
    again, second_password = services.ensure_demo_user(username="demo")

    assert password
    assert second_password is None
    assert user.pk == again.pk
    assert user.check_password(password)
    assert user.trading_accounts.count() == 1
