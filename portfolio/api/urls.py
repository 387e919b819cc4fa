from django.urls import path

from portfolio.api import views

urlpatterns = [
    path("accounts/<str:account_id>/positions", views.PositionListView.as_view(), name="position-list"),
    path(
        "accounts/<str:account_id>/positions/<str:symbol>",
        views.PositionDetailView.as_view(),
        name="position-detail",
    ),
    path(
        "accounts/<str:account_id>/positions/<str:symbol>/exits",
        views.PositionExitsView.as_view(),
        name="position-exits",
    ),
    path("accounts/<str:account_id>/summary", views.SummaryView.as_view(), name="account-summary"),
    path("accounts/<str:account_id>/activities", views.ActivityListView.as_view(), name="activity-list"),
    path("accounts/<str:account_id>/equity", views.EquityCurveView.as_view(), name="account-equity"),
    path("accounts/<str:account_id>/analytics", views.AnalyticsView.as_view(), name="account-analytics"),
]
