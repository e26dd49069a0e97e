"""The LMS's URLs as far as these tests need them: login, the instructor dashboard, and the plugins' URLs."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView
from edx_django_utils.plugins import get_plugin_url_patterns

from . import lms_views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", TemplateView.as_view(template_name="example/home.html"), name="home"),
    path("courses/<path:course_id>/instructor", lms_views.instructor_dashboard_2, name="instructor_dashboard"),
    *get_plugin_url_patterns("lms.djangoapp"),
]
