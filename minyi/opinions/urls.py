from django.urls import path

from minyi.opinions import views

app_name = "opinions"

urlpatterns = [
    path("", views.opinion_list, name="opinion_list"),
    path("rewards/", views.reward_list, name="reward_list"),
    path("key-in/", views.key_in, name="opinion_key_in"),
    path("channels/", views.channel_rates, name="channel_rates"),
    path("channels/export/", views.channel_rates_export, name="channel_rates_export"),
    path("<int:pk>/", views.opinion_detail, name="opinion_detail"),
    path("<int:pk>/accept/", views.accept, name="opinion_accept"),
    path("<int:pk>/answer/", views.answer, name="opinion_answer"),
    path("<int:pk>/transfer/", views.transfer, name="opinion_transfer"),
    path("<int:pk>/verdict/", views.verdict, name="opinion_verdict"),
    path("<int:pk>/wall/", views.wall_toggle, name="opinion_wall_toggle"),
    path("<int:pk>/contact/", views.contact, name="opinion_contact"),
    path("<int:pk>/letter/", views.letter, name="opinion_letter"),
    path("<int:pk>/photos/<int:photo_pk>/", views.photo, name="opinion_photo"),
    path("<int:pk>/reward/", views.propose, name="reward_propose"),
    path("<int:pk>/reward/decide/", views.decide, name="reward_decide"),
    path("<int:pk>/reward/pay/", views.pay, name="reward_pay"),
]
