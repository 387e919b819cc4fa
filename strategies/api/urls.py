from django.urls import path

from strategies.api import views

urlpatterns = [
    path("strategies/configs", views.ConfigListView.as_view(), name="strategy-config-list"),
    path(
        "strategies/configs/<str:config_id>", views.ConfigDetailView.as_view(), name="strategy-config-detail"
    ),
    path("strategies/deployments", views.DeploymentListView.as_view(), name="strategy-deployment-list"),
    path(
        "strategies/deployments/<str:deployment_id>",
        views.DeploymentDetailView.as_view(),
        name="strategy-deployment-detail",
    ),
    path(
        "strategies/deployments/<str:deployment_id>/pause",
        views.DeploymentPauseView.as_view(),
        name="strategy-deployment-pause",
    ),
    path(
        "strategies/deployments/<str:deployment_id>/resume",
        views.DeploymentResumeView.as_view(),
        name="strategy-deployment-resume",
    ),
    path(
        "strategies/deployments/<str:deployment_id>/stop",
        views.DeploymentStopView.as_view(),
        name="strategy-deployment-stop",
    ),
    path("strategies/signals", views.SignalListView.as_view(), name="strategy-signal-list"),
]
