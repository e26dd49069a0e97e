"""
Signed report links: making them, checking them, and handing the file over when one is followed.

A link names a report and the user it was made for, signed with the project's
``SECRET_KEY`` under a salt of its own, so a token signed for anything else in
the project (sessions, password resets) is never accepted. It works for
``LINK_EXPIRY_SECONDS`` (ADR 0004, docs/decisions/). The Data Download page
(``views.py``) and the REST API (``rest_api/v1/reports.py``) both make their
links here, and the download view hands the file over through ``deliver``:
streamed from a local file system, or a redirect to a storage URL that expires
no later than the link (S3 presigned).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.core import signing
from django.urls import reverse

from .conf import app_settings
from .exceptions import ReportFileMissing, ReportLinkExpired, ReportLinkInvalid
from .storage import get_report_storage

log = logging.getLogger(__name__)

#: Unchanged since links were signed in ``storage.py``, so links made before the move still work.
LINK_SALT = "proctoring_results.storage.report-link"


# ---------------------------------------------------------------- signing and checking


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


# ---------------------------------------------------------------- the link a page or an API answer shows


def report_download_link(request, report):
    """An absolute link to ``report`` (a ``ReportData``) signed for ``request.user`` now, and when it expires."""
    link = make_report_link(report.id, request.user.pk)
    before, after = _download_url_around_token(request)
    return f"{before}{link.token}{after}", link.expires_at


_TOKEN_PLACEHOLDER = "TOKEN"


def _download_url_around_token(request):
    """
    The absolute download URL split around its token, reversed once per request.

    Reversing per link cost more than signing it (a page of 100 links: docs/performance.rst).
    Tokens hold only characters ``reverse`` leaves as they are (base64url and ``:``).
    """
    parts = getattr(request, "_proctoring_download_url_parts", None)
    if parts is None:
        url = request.build_absolute_uri(reverse("proctoring_results:report_download", args=[_TOKEN_PLACEHOLDER]))
        parts = tuple(url.rsplit(_TOKEN_PLACEHOLDER, 1))
        request._proctoring_download_url_parts = parts
    return parts


# ---------------------------------------------------------------- following a link: serve or presign


@dataclass(frozen=True)
class Delivery:
    """How a followed link hands the file over: a ``url`` to redirect to, or an open binary ``file`` to stream."""

    url: str | None = None
    file: Any = None


def deliver(report, link):
    """
    The file of ``report`` for a checked ``link``: a presigned URL where the storage makes them, else the file.

    A presigned URL expires no later than the link. Raises ``ReportLinkExpired``
    when the link has under a whole second left (no presigned URL can expire by
    then), and ``ReportFileMissing`` when the storage has no file for the report.
    """
    storage = get_report_storage()
    url = _presigned_url(storage, report, int(link.seconds_left))
    if url is not None:
        return Delivery(url=url)
    try:
        return Delivery(file=storage.open(report.storage_key, "rb"))
    except (FileNotFoundError, OSError):
        log.warning("Report %s is listed but its file is missing from storage.", report.id)
        raise ReportFileMissing(f"The file of report {report.id} is missing from storage.") from None


def _presigned_url(storage, report, seconds_left):
    """
    A presigned URL valid for ``seconds_left``, or None to stream the file ourselves.

    None for a local file system, and for a storage whose ``url()`` cannot expire.
    """
    try:
        storage.path(report.storage_key)
        return None  # a local file system: stream it ourselves
    except NotImplementedError:
        pass
    if seconds_left < 1:
        raise ReportLinkExpired("This download link has expired.", report_id=report.id)
    try:
        return storage.url(
            report.storage_key,
            expire=seconds_left,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{report.file_name}"',
                "ResponseContentType": "text/csv; charset=utf-8",
                "ResponseCacheControl": "no-store",
            },
        )
    except TypeError:
        return None  # a storage whose url() cannot expire: stream it instead
