from django.urls import path

from orders.api import views

urlpatterns = [
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
