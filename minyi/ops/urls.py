from django.urls import path

from minyi.ops import views

# Not namespaced: load balancers, systemd and Prometheus know these paths by heart.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
