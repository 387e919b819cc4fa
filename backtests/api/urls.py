"""Backtests API routes (``compare`` before ``<backtest_id>``), and the catalog of runnable strategies."""

from django.urls import path

from backtests.api import views

urlpatterns = [
    path("backtests", views.BacktestListView.as_view(), name="backtest-list"),
    path("backtests/compare", views.BacktestCompareView.as_view(), name="backtest-compare"),
    path("backtests/<str:backtest_id>", views.BacktestDetailView.as_view(), name="backtest-detail"),
    path("backtests/<str:backtest_id>/cancel", views.BacktestCancelView.as_view(), name="backtest-cancel"),
    path("backtests/<str:backtest_id>/trades", views.BacktestTradesView.as_view(), name="backtest-trades"),
    path("strategies/catalog", views.StrategyCatalogView.as_view(), name="strategy-catalog"),
]
