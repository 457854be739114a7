from django.urls import path

from . import views

app_name = "trust"
urlpatterns = [
    path("restrictions/", views.reviews, name="reviews"),
    path("restrictions/<int:pk>/decide/", views.decide, name="decide"),
    path("links/<int:pk>/decide/", views.decide_link, name="link_decide"),
]
