from django.urls import path

from . import email_views as views

app_name = "emails"
urlpatterns = [
    path("", views.email_log, name="log"),
    path("<int:pk>/resend/", views.resend, name="resend"),
]
