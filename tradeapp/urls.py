"""URL map: pages, the REST API under /api/v1/, its schema and docs, admin, health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from portfolio.views import dashboard
from tradeapp.core import health, views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("marketdata.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("portfolio.api.urls")),
    path("", include("backtests.api.urls")),
    path("", include("strategies.api.urls")),
]

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("accounts/", include("accounts.urls")),
    path("markets/", include("marketdata.urls")),
    path("orders/", include("orders.urls")),
    path("strategies/", include("strategies.urls")),
    path("backtests/", include("backtests.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

handler404 = views.not_found
handler500 = views.server_error
handler400 = views.bad_request
handler403 = views.permission_denied
