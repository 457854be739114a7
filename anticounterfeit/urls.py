from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from anticounterfeit.core import views as core_views
from anticounterfeit.core.ratelimit import RateLimitedLoginView

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health", core_views.health, name="health"),
    path("console/", include("anticounterfeit.moderation.urls")),
    path("brand/", include("anticounterfeit.catalog.urls")),
    path("seller/", include("anticounterfeit.notifications.urls")),
    path("trust/", include("anticounterfeit.trust.urls")),
    path("compliance/", include("anticounterfeit.compliance.urls")),
    path("webhooks/", include("anticounterfeit.notifications.webhook_urls")),
    path("emails/", include("anticounterfeit.notifications.email_urls")),
    path("api/v1/", include("anticounterfeit.api.urls")),
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.+)$", core_views.protected_media, name="media"),
]
