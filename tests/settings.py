"""
Test settings: the example host project, with fast password hashing and
throw-away directories. ``DATABASE_URL`` / ``CELERY_BROKER_URL`` /
``PROCTORING_RESULTS_S3_ENDPOINT_URL`` switch on the real services, as in the
example (``.ci/run`` sets them).
"""

import os
import tempfile

os.environ.setdefault("EXAMPLE_VAR_DIR", tempfile.mkdtemp(prefix="proctoring-results-tests-"))

from example.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
