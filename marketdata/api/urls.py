"""Market-data API routes. A trailing ``<path:symbol>`` also takes "BTC/USD" (as well as "BTC-USD")."""

from django.urls import path

from marketdata.api import views

urlpatterns = [
    path("instruments", views.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<path:symbol>", views.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("quotes", views.QuoteListView.as_view(), name="quote-list"),
    path("bars", views.BarListView.as_view(), name="bar-list"),
    path("indicators", views.IndicatorListView.as_view(), name="indicator-list"),
    path("watchlists", views.WatchlistListView.as_view(), name="watchlist-list"),
    path("watchlists/<int:watchlist_id>", views.WatchlistDetailView.as_view(), name="watchlist-detail"),
    path("watchlists/<int:watchlist_id>/items", views.WatchlistItemsView.as_view(), name="watchlist-items"),
    path(
        "watchlists/<int:watchlist_id>/items/<path:symbol>",
        views.WatchlistItemDetailView.as_view(),
        name="watchlist-item-detail",
    ),
]
