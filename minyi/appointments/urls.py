"""Staff pages of mobile service appointments (移动办证), under /appointments/."""

from django.urls import path

from minyi.appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.appointment_list, name="appointment_list"),
    path("<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("<int:pk>/confirm/", views.appointment_confirm_view, name="appointment_confirm"),
    path("<int:pk>/outcome/", views.appointment_outcome_view, name="appointment_outcome"),
    path("<int:pk>/reveal/", views.appointment_reveal_view, name="appointment_reveal"),
    path("slots/", views.slot_list, name="slot_list"),
    path("slots/week/", views.slot_week, name="slot_week"),
    path("slots/<int:pk>/close/", views.slot_close_view, name="slot_close"),
    path("route/", views.route_today, name="route_today"),
    path("route/<int:unit_pk>/<str:day>/", views.route, name="route"),
    path("route/<int:unit_pk>/<str:day>/order/", views.route_order_view, name="route_order"),
    path("route/<int:unit_pk>/<str:day>/print/", views.route_print, name="route_print"),
]
