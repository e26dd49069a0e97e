"""REST API v1, mounted under ``api/proctoring-results/v1/``."""

urlpatterns = []
