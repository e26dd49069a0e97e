"""The example project's Celery app; run a worker with ``celery -A example worker``."""

import os
import sys
from pathlib import Path

from celery import Celery

from .broker import use_for_filesystem_urls

use_for_filesystem_urls()  # the demo's file-system broker, with messages written whole

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

app = Celery("example")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(hostname, *, queues=None, beat_schedule=None):
    """
    The ``celery -A example worker`` command line the tests and benchmarks start, run from ``example/``.

    One process that runs the tasks itself (``--pool=solo``: a kill of the
    process is a kill of the report), without the workers' chatter to each
    other; ``queues`` to consume, and with ``beat_schedule`` (a file) the
    periodic checks too, as the demo runs them (``run_demo.sh``).
    """
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "example",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        f"--hostname={hostname}",
    ]
    if queues:
        command.append(f"--queues={queues}")
    if beat_schedule:
        command += ["--beat", f"--schedule={beat_schedule}"]
    return command
