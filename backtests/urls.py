"""Backtest pages under /backtests/: the runs, the form, one run's results, cancel, two runs compared."""

from django.urls import path

from backtests import views

app_name = "backtests"

urlpatterns = [
    path("", views.backtest_list, name="list"),
    path("new/", views.new_backtest, name="new"),
    path("compare/", views.compare, name="compare"),
    path("<uuid:backtest_id>/", views.backtest_detail, name="detail"),
    path("<uuid:backtest_id>/cancel/", views.cancel_backtest, name="cancel"),
]
