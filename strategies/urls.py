"""Strategy pages under /strategies/: the library, configurations, deployments."""

from django.urls import path

from strategies import views

app_name = "strategies"

urlpatterns = [
    path("", views.library, name="library"),
    path("configs/new/", views.config_new, name="config_new"),
    path("configs/parameters/", views.parameter_fields, name="parameter_fields"),
    path("configs/<uuid:config_id>/edit/", views.config_edit, name="config_edit"),
    path("configs/<uuid:config_id>/delete/", views.config_delete, name="config_delete"),
    path("configs/<uuid:config_id>/deploy/", views.deploy, name="deploy"),
    path("deployments/", views.deployments, name="deployments"),
    path("deployments/<uuid:deployment_id>/", views.deployment_detail, name="deployment_detail"),
    path("deployments/<uuid:deployment_id>/pause/", views.deployment_pause, name="pause"),
    path("deployments/<uuid:deployment_id>/resume/", views.deployment_resume, name="resume"),
    path("deployments/<uuid:deployment_id>/stop/", views.deployment_stop, name="stop"),
]
