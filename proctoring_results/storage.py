"""
Where report files live, and the signed links that let course staff fetch them.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.core import signing

from .conf import app_settings
from .exceptions import ReportLinkExpired, ReportLinkInvalid


# ---------------------------------------------------------------- signed links
# DESIGN.md §8. A link names a report and the user it was made for, signed with
# the project's SECRET_KEY under a salt of its own, so a token signed for
# anything else in the project (sessions, password resets) is never accepted.

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
