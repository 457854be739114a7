from django.urls import path

from . import webhook_views as views

app_name = "webhooks"
urlpatterns = [
    path("", views.clients, name="clients"),
    path("<int:pk>/", views.client_detail, name="client"),
    path("<int:pk>/url/", views.set_url, name="set_url"),
    path("<int:pk>/secret/", views.secret, name="secret"),
    path("<int:pk>/deliveries/<int:delivery_id>/retry/", views.retry, name="retry"),
]
