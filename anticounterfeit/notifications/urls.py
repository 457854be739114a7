from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.center, name="center"),
    path("inbox/", views.inbox, name="inbox"),
    path("notices/<int:pk>/", views.notice, name="notice"),
]
