"""A local storage that takes its time to store a file, like a slow network; for worker-kill tests."""

import os
import time

from django.core.files.storage import FileSystemStorage


class SlowFileSystemStorage(FileSystemStorage):
    """Waits ``PROCTORING_RESULTS_TEST_STORAGE_DELAY`` seconds before storing, then stores normally."""

    def _save(self, name, content):
        time.sleep(float(os.environ.get("PROCTORING_RESULTS_TEST_STORAGE_DELAY", "0")))
        return super()._save(name, content)
