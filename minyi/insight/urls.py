from django.urls import path

from minyi.insight import views

app_name = "insight"

urlpatterns = [
    path("tagger/", views.tagger, name="tagger"),
    path("tagger/train/", views.tagger_train, name="tagger_train"),
    path("suggest/", views.suggest, name="suggest"),
    path("reasons/", views.reasons, name="reasons"),
    path("topics/", views.topics, name="topics"),
    path("topics/texts/", views.topic_detail, name="topic_detail"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/", views.review_text, name="review_text"),
    path("review/<str:source>/<int:object_id>/", views.review_object, name="review_object"),
]
