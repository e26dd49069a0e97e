"""The example project's Celery app; run a worker with ``celery -A example worker``."""

import os

from celery import Celery

from .broker import use_for_filesystem_urls

use_for_filesystem_urls()  # the demo's file-system broker, with messages written whole

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

app = Celery("example")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
