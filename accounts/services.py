"""Write use cases for users, trading accounts and API tokens. Each is one transaction."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts import hooks
from accounts.models import AccountKind, AccountStatus, ApiToken, TradingAccount, User
from tradeapp.core import clock
from tradeapp.core.decimals import CASH_CENTS, to_decimal
from tradeapp.core.errors import Conflict, DomainError, NotFound

DEFAULT_ACCOUNT_NAME = "Paper"
MAX_STARTING_CASH = Decimal("1000000000")  # 1e9: a paper account, not a central bank
MAX_ACCOUNTS_PER_USER = 20
TOKEN_PREFIX = "ta_"  # noqa: S105 - a public marker, not a secret


def default_starting_cash() -> Decimal:
    return to_decimal(settings.PAPER_STARTING_CASH)


def _clean_starting_cash(value: Decimal | str | int | None) -> Decimal:
    if value is None:
        return default_starting_cash()
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError) as error:
        raise DomainError("invalid_amount", "Starting cash must be a number.", "starting_cash") from error
    if not amount.is_finite() or amount <= 0 or amount > MAX_STARTING_CASH:
        raise DomainError(
            "invalid_amount",
            f"Starting cash must be above 0 and at most {MAX_STARTING_CASH:,}.",
            "starting_cash",
        )
    if amount != amount.quantize(CASH_CENTS):
        raise DomainError("invalid_amount", "Starting cash has at most 2 decimals.", "starting_cash")
    return amount


def _clean_account_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 80:
        raise DomainError("invalid_name", "Give the account a name of 1 to 80 characters.", "name")
    return cleaned


@transaction.atomic
def register_user(*, username: str, email: str, password: str) -> User:
    """Create a user and their first paper account. Raises DomainError naming the field at fault."""
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise DomainError("username_taken", "That username is taken.", "username")
    if user_model.objects.filter(email__iexact=email).exists():
        raise DomainError("email_taken", "An account with that email exists.", "email")
    user = user_model(username=username, email=email)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError("weak_password", " ".join(error.messages), "password") from error
    user.set_password(password)
    user.save()
    open_paper_account(owner=user)
    return user


def open_paper_account(
    *, owner: User, name: str | None = None, starting_cash: Decimal | str | int | None = None
) -> TradingAccount:
    """Open a paper account funded with ``starting_cash`` (default: PAPER_STARTING_CASH)."""
    amount = _clean_starting_cash(starting_cash)
    with transaction.atomic():
        # lock the user row: two concurrent requests must not both pass the count check
        get_user_model().objects.select_for_update().get(pk=owner.pk)
        existing = TradingAccount.objects.filter(owner=owner)
        if existing.count() >= MAX_ACCOUNTS_PER_USER:
            raise DomainError("too_many_accounts", f"You can have at most {MAX_ACCOUNTS_PER_USER} accounts.")
        if name is None:
            name = DEFAULT_ACCOUNT_NAME if not existing.exists() else f"Paper {existing.count() + 1}"
        name = _clean_account_name(name)
        if existing.filter(name__iexact=name).exists():
            raise DomainError("duplicate_name", "You already have an account with that name.", "name")
        try:
            with transaction.atomic():
                account = TradingAccount.objects.create(
                    owner=owner, name=name, kind=AccountKind.PAPER, starting_cash=amount, cash=amount
                )
        except IntegrityError as error:
            raise DomainError(
                "duplicate_name", "You already have an account with that name.", "name"
            ) from error
        hooks.account_funded(account)
        return account


def ensure_paper_account(*, owner: User) -> TradingAccount:
    """The user's first account, opened on demand (users made in the admin or by createsuperuser)."""
    account = TradingAccount.objects.filter(owner=owner).order_by("created_at").first()
    return account or open_paper_account(owner=owner)


def reset_paper_account(
    *, owner: User, account_id: object, starting_cash: Decimal | str | int | None = None
) -> TradingAccount:
    """Start a paper account over with ``starting_cash`` (default: its current starting cash): its
    orders, fills, positions, ledger and equity history are deleted, its cash is the new deposit."""
    with transaction.atomic():
        account = _lock_owned_account(owner=owner, account_id=account_id)
        if not account.is_paper:
            raise Conflict("not_paper", "Only paper accounts can be reset.")
        amount = account.starting_cash if starting_cash is None else _clean_starting_cash(starting_cash)
        hooks.account_reset(account)
        account.starting_cash = amount
        account.cash = amount
        account.status = AccountStatus.ACTIVE
        account.halted_reason = ""
        account.reset_at = clock.now()
        account.save(
            update_fields=["starting_cash", "cash", "status", "halted_reason", "reset_at", "updated_at"]
        )
        hooks.account_funded(account)
        return account


def add_to_cash(*, account: TradingAccount, amount: Decimal) -> Decimal:
    """Move the account's cash by ``amount`` (signed) and return the new balance. Call inside the
    transaction that writes the matching ledger entries, with the account row locked. The database
    refuses a negative balance (IntegrityError): callers check buying power first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TradingAccount._meta.db_table} SET cash = cash + %s, updated_at = %s "  # noqa: S608
            "WHERE id = %s RETURNING cash",
            [amount, clock.now(), account.pk],
        )
        account.cash = cursor.fetchone()[0]
    return account.cash


def halt_account(*, account_id: object, reason: str) -> TradingAccount:
    """Halt one account (admin): new orders are refused with ``account_halted``."""
    with transaction.atomic():
        account = TradingAccount.objects.select_for_update().get(pk=account_id)
        account.status = AccountStatus.HALTED
        account.halted_reason = reason[:200] or "Halted by an administrator."
        account.save(update_fields=["status", "halted_reason", "updated_at"])
        hooks.account_halted(account)
        return account


def resume_account(*, account_id: object) -> TradingAccount:
    with transaction.atomic():
        account = TradingAccount.objects.select_for_update().get(pk=account_id)
        account.status = AccountStatus.ACTIVE
        account.halted_reason = ""
        account.save(update_fields=["status", "halted_reason", "updated_at"])
        return account


def rename_account(*, owner: User, account_id: object, name: str) -> TradingAccount:
    name = _clean_account_name(name)
    with transaction.atomic():
        account = _lock_owned_account(owner=owner, account_id=account_id)
        if TradingAccount.objects.filter(owner=owner, name__iexact=name).exclude(pk=account.pk).exists():
            raise DomainError("duplicate_name", "You already have an account with that name.", "name")
        account.name = name
        account.save(update_fields=["name", "updated_at"])
        return account


def _lock_owned_account(*, owner: User, account_id: object) -> TradingAccount:
    try:
        return TradingAccount.objects.select_for_update().get(pk=account_id, owner=owner)
    except (TradingAccount.DoesNotExist, ValidationError, ValueError) as error:
        raise NotFound("No such account.") from error


# --- API tokens ---------------------------------------------------------------------------------------


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_token(*, owner: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; return it with the raw key, which is never stored and never shown again."""
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 80:
        raise DomainError("invalid_name", "Give the token a name of 1 to 80 characters.", "name")
    if ApiToken.objects.filter(owner=owner, revoked_at__isnull=True).count() >= 25:
        raise DomainError("too_many_tokens", "Revoke an old token first (at most 25 active).")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(owner=owner, name=cleaned, prefix=key[:10], key_hash=hash_token_key(key))
    return token, key


def revoke_api_token(*, owner: User, token_id: object) -> ApiToken:
    with transaction.atomic():
        try:
            token = ApiToken.objects.select_for_update().get(pk=token_id, owner=owner)
        except (ApiToken.DoesNotExist, ValueError, ValidationError) as error:
            raise NotFound("No such token.") from error
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save(update_fields=["revoked_at"])
        return token


def ensure_demo_user(*, username: str) -> tuple[User, str | None]:
    """Create the demo user with a random password once; later calls return (user, None)."""
    user_model = get_user_model()
    existing = user_model.objects.filter(username=username).first()
    if existing is not None:
        ensure_paper_account(owner=existing)
        return existing, None
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        user = user_model.objects.create_user(
            username=username, email=f"{username}@example.invalid", password=password
        )
        open_paper_account(owner=user)
    return user, password
