"""Factories for accounts: users come with their paper account, as they do through sign-up."""

from __future__ import annotations

from decimal import Decimal

import factory

from accounts.models import AccountKind, TradingAccount, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def paper_account(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and extracted is not False:
            TradingAccountFactory(owner=self, name="Paper")


class TradingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TradingAccount
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory, paper_account=False)
    name = factory.Sequence(lambda n: f"Paper {n}")
    kind = AccountKind.PAPER
    starting_cash = Decimal("100000.00")
    cash = factory.LazyAttribute(lambda a: a.starting_cash)

    @factory.post_generation
    def deposit(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Fund it the way accounts.services does: a ledger entry for the starting cash."""
        if create:
            from portfolio.services import record_opening_deposit

            record_opening_deposit(account=self)
