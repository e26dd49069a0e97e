"""
Production defaults for an Open edX LMS: keep report files where the LMS keeps its own reports.

The LMS's ``GRADES_DOWNLOAD`` setting says where instructor-dashboard reports
go (S3 bucket or local directory). Unless the operator configured a
``STORAGES["proctoring_results"]`` of their own, report files go to the same
place, under a ``proctoring-results/`` prefix, as private objects behind URLs
that expire with our signed links, and never overwriting each other.
"""

from .common import plugin_settings as _common_plugin_settings

#: Sub-folder (or key prefix) under the LMS's report location.
PREFIX = "proctoring-results"


def report_storage_from_grades_download(grades_download, expiry_seconds=300):
    """
    The ``STORAGES`` entry equivalent to the LMS's ``GRADES_DOWNLOAD``, or None if it names no place.

    Recognises the two shapes edx-platform and Tutor use: ``STORAGE_TYPE`` "s3"
    with ``BUCKET`` / ``ROOT_PATH``, and ``STORAGE_KWARGS`` with a ``location``
    (or ``STORAGE_TYPE`` "localfs" with ``ROOT_PATH``) for the local file system.
    """
    if not isinstance(grades_download, dict):
        return None
    storage_type = str(grades_download.get("STORAGE_TYPE") or "").lower()
    kwargs = grades_download.get("STORAGE_KWARGS") or {}
    root = str(grades_download.get("ROOT_PATH") or "").strip("/")
    if storage_type == "s3" and grades_download.get("BUCKET"):
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": grades_download["BUCKET"],
                "location": f"{root}/{PREFIX}" if root else PREFIX,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": expiry_seconds,
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        }
    location = kwargs.get("location") or (grades_download.get("ROOT_PATH") if storage_type == "localfs" else None)
    if location:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": f"{str(location).rstrip('/')}/{PREFIX}", "base_url": None},
        }
    return None


def plugin_settings(settings):
    """Common defaults, then the report storage derived from ``GRADES_DOWNLOAD`` when none is set."""
    _common_plugin_settings(settings)
    values = getattr(settings, "PROCTORING_RESULTS", None)
    if not isinstance(values, dict):
        return
    alias = values.get("STORAGE_ALIAS", "proctoring_results")
    storages = getattr(settings, "STORAGES", None)
    # Django 4.2 refuses STORAGES next to the legacy DEFAULT_FILE_STORAGE, so a
    # host still on the legacy setting keeps the local fallback (warning W001).
    if not isinstance(storages, dict) or alias in storages:
        return
    expiry = values.get("LINK_EXPIRY_SECONDS", 300)
    expiry = expiry if isinstance(expiry, int) and 0 < expiry <= 300 else 300  # E003 reports a bad value
    storage = report_storage_from_grades_download(getattr(settings, "GRADES_DOWNLOAD", None), expiry)
    if storage is not None:
        settings.STORAGES = {**storages, alias: storage}
