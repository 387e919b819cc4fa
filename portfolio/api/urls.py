from django.urls import path

from portfolio.api import views

urlpatterns = [
    path(
        "accounts/<str:account_id>/positions/<str:symbol>/exits",
        views.PositionExitsView.as_view(),
        name="position-exits",
    ),
    path("accounts/<str:account_id>/summary", views.SummaryView.as_view(), name="account-summary"),
    path("accounts/<str:account_id>/equity", views.EquityCurveView.as_view(), name="account-equity"),
    path("accounts/<str:account_id>/analytics", views.AnalyticsView.as_view(), name="account-analytics"),
]
