from django.urls import path

from minyi.insight import views

app_name = "insight"

urlpatterns = [
    path("tagger/", views.tagger, name="tagger"),
    path("tagger/train/", views.tagger_train, name="tagger_train"),
    path("suggest/", views.suggest, name="suggest"),
]
