"""Positions, the cash ledger, equity snapshots and performance metrics."""

from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self) -> None:
        from accounts import hooks
        from portfolio import services, tasks  # noqa: F401 - tasks: registered in every process (snapshots)

        hooks.on_account_reset(services.wipe_portfolio)
        hooks.on_account_funded(services.record_opening_deposit)
