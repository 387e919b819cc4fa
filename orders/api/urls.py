from django.urls import path

from orders.api import positions, views

urlpatterns = [
    path("accounts/<str:account_id>/positions", positions.PositionListView.as_view(), name="position-list"),
    path(
        "accounts/<str:account_id>/positions/<str:symbol>",
        positions.PositionDetailView.as_view(),
        name="position-detail",
    ),
    path("accounts/<str:account_id>/activities", positions.ActivityListView.as_view(), name="activity-list"),
    path("accounts/<str:account_id>/risk", views.RiskSettingsView.as_view(), name="risk-settings"),
    path("accounts/<str:account_id>/algos", views.AlgoListView.as_view(), name="algo-list"),
    path("accounts/<str:account_id>/algos/<str:algo_id>", views.AlgoDetailView.as_view(), name="algo-detail"),
    path("accounts/<str:account_id>/orders", views.OrderListView.as_view(), name="order-list"),
    path(
        "accounts/<str:account_id>/orders/by-client-id/<str:client_order_id>",
        views.OrderByClientIdView.as_view(),
        name="order-by-client-id",
    ),
    path(
        "accounts/<str:account_id>/orders/<str:order_id>",
        views.OrderDetailView.as_view(),
        name="order-detail",
    ),
]
