"""URLs of proctoring_results; a host mounts them with ``include("proctoring_results.urls")``."""

app_name = "proctoring_results"

urlpatterns = []
