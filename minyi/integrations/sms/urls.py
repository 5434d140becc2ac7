from django.urls import path

from minyi.integrations.sms import views

app_name = "sms"

urlpatterns = [
    path("kannel/inbound", views.kannel_inbound, name="kannel_inbound"),
    path("kannel/dlr", views.kannel_dlr, name="kannel_dlr"),
    path("demo/phones/", views.demo_phones, name="demo_phones"),
    path("demo/phones/reply", views.demo_phone_reply, name="demo_phone_reply"),
]
