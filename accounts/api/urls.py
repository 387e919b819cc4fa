from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("accounts", views.AccountListView.as_view(), name="account-list"),
    path("accounts/<str:account_id>", views.AccountDetailView.as_view(), name="account-detail"),
    path("accounts/<str:account_id>/reset", views.AccountResetView.as_view(), name="account-reset"),
    path("tokens", views.TokenListView.as_view(), name="token-list"),
    path("tokens/<int:token_id>", views.TokenDetailView.as_view(), name="token-detail"),
]
