"""
Where report files live (the storage under ``STORAGES[app_settings.STORAGE_ALIAS]``), and the signed
links that let course staff fetch them.

Production points that alias at django-storages' ``S3Storage`` (private
objects, SigV4, ``file_overwrite=False``); without it, reports go to the local
file system under ``MEDIA_ROOT/proctoring_results``. Reports are listed from
the ``Report`` table, never by listing the storage.
"""

import logging
import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from .conf import app_settings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- report storage

def get_report_storage():
    """The configured report storage (Django caches it per alias and resets it on ``override_settings``)."""
    alias = app_settings.STORAGE_ALIAS
    if alias in getattr(settings, "STORAGES", {}):
        return storages[alias]
    # Owner-only: the files hold personal data, and other local accounts must not read them.
    return FileSystemStorage(
        location=os.path.join(settings.MEDIA_ROOT, "proctoring_results"), base_url=None,
        file_permissions_mode=0o600, directory_permissions_mode=0o700,
    )


def is_s3_storage(storage):
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency, but keep checks import-safe
        return False
    return isinstance(storage, S3Storage)


def overwrites_files(storage):
    """
    True when saving a name that exists would replace the existing object.

    django-storages' S3 backend overwrites by default (``file_overwrite=True``):
    two reports must never replace each other, so a system check warns (W002).
    """
    return is_s3_storage(storage) and bool(getattr(storage, "file_overwrite", False))


def delete_quietly(storage, name):
    """Delete a stored object, logging (without personal data) instead of raising; True when gone."""
    try:
        storage.delete(name)
        return True
    except Exception as exc:  # noqa: BLE001 - any storage error must not hide the original failure
        log.warning("Could not delete report object %s from storage: %s", name, type(exc).__name__)
        return False


# ---------------------------------------------------------------- signed links (dashboard; keep when editing)
# DESIGN.md §8. A link names a report and the user it was made for, signed with
# the project's SECRET_KEY under a salt of its own, so a token signed for
# anything else in the project (sessions, password resets) is never accepted.

import time  # noqa: E402  (this section's imports are kept with it)
from dataclasses import dataclass  # noqa: E402  (kept with this section)
from datetime import datetime  # noqa: E402  (kept with this section)
from datetime import timezone as dt_timezone  # noqa: E402  (kept with this section)

from django.core import signing  # noqa: E402  (kept with this section)

from .exceptions import ReportLinkExpired, ReportLinkInvalid  # noqa: E402  (kept with this section)

LINK_SALT = "proctoring_results.storage.report-link"


@dataclass(frozen=True)
class SignedLink:
    """A report link's token, the moment it stops working, and what it was made for."""

    token: str
    report_id: int
    user_id: int
    expires_at: datetime

    @property
    def seconds_left(self):
        return max(0.0, self.expires_at.timestamp() - time.time())


def make_report_link(report_id, user_id):
    """Sign ``(report id, user id)``; the token is valid for ``LINK_EXPIRY_SECONDS``."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    token = signer.sign_object({"r": int(report_id), "u": int(user_id)})
    return SignedLink(token, int(report_id), int(user_id), _link_expiry(token, signer))


def read_report_link(token):
    """
    Check a token's signature and age, and return its ``SignedLink``.

    Raises ``ReportLinkExpired`` once the token is older than
    ``LINK_EXPIRY_SECONDS``, and ``ReportLinkInvalid`` for anything altered.
    """
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        value = signer.unsign_object(token, max_age=app_settings.LINK_EXPIRY_SECONDS)
    except signing.SignatureExpired:
        # The signature is genuine, only old: say which report, so the page can
        # send the user back to that course's Data Download page for a new link.
        value = signer.unsign_object(token)
        report_id = value.get("r") if isinstance(value, dict) else None
        raise ReportLinkExpired("This download link has expired.", report_id=report_id) from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        raise ReportLinkInvalid("This download link is not valid.") from None
    if not isinstance(value, dict) or type(value.get("r")) is not int or type(value.get("u")) is not int:
        raise ReportLinkInvalid("This download link is not valid.")
    return SignedLink(token, value["r"], value["u"], _link_expiry(token, signer))


def _link_expiry(token, signer):
    # A signed token ends with ``:<base62 timestamp>:<signature>``; the stamp is whole seconds.
    issued = signing.b62_decode(token.rsplit(signer.sep, 2)[-2])
    return datetime.fromtimestamp(issued + app_settings.LINK_EXPIRY_SECONDS, tz=dt_timezone.utc)
