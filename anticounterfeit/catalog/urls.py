from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.portal, name="portal"),
    path("brands/<int:pk>/profile/", views.profile, name="profile"),
    path("catalog/", views.references, name="references"),
    path("catalog/new/", views.reference_edit, name="reference_new"),
    path("catalog/<int:pk>/", views.reference_edit, name="reference_edit"),
    path("catalog/<int:pk>/delete/", views.reference_delete, name="reference_delete"),
    path("catalog/upload/<str:kind>/", views.upload, name="upload"),
    path("imports/<int:pk>/", views.job, name="job"),
    path("imports/<int:pk>/errors.csv", views.job_errors, name="job_errors"),
    path("sellers/", views.sellers, name="sellers"),
    path("matches/", views.matches, name="matches"),
    path("matches.csv", views.matches_csv, name="matches_csv"),
    path("matches/<int:pk>/", views.match_detail, name="match"),
    path("reports/", views.reports, name="reports"),
    path("removals/", views.removals, name="removals"),
    path("removals/<int:pk>/reverse/", views.reverse_removal, name="reverse_removal"),
    path("matched/<path:key>/", views.match_target, name="match_target"),
]
