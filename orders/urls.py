"""Trading pages under /orders/: the ticket, orders (open, history, CSV, one order), positions."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.new_order, name="new"),
    path("export.csv", views.export_csv, name="export"),
    path("cancel-all/", views.cancel_all_orders, name="cancel_all"),
    path("<uuid:order_id>/", views.order_detail, name="detail"),
    path("<uuid:order_id>/cancel/", views.cancel_order, name="cancel"),
    path("<uuid:order_id>/modify/", views.modify_order, name="modify"),
    path("positions/", views.positions, name="positions"),
    path("positions/close-all/", views.close_all_positions, name="close_all"),
    path("positions/<str:symbol>/close/", views.close_position, name="close_position"),
    path("positions/<str:symbol>/exits/", views.position_exits, name="position_exits"),
]
