from django.urls import path

from marketdata import views

app_name = "markets"

urlpatterns = [
    path("", views.watchlists, name="watchlists"),
    path("screener/", views.screener, name="screener"),
    path("<path:symbol>/", views.symbol_detail, name="symbol"),
]
