"""The example mounts proctoring_results at the site root, as the docs assume."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", TemplateView.as_view(template_name="example/home.html"), name="home"),
    # The REST API's OpenAPI schema (drf-spectacular): YAML by default, JSON with ?format=json.
    path("api/proctoring-results/v1/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("", include("proctoring_results.urls")),
]
