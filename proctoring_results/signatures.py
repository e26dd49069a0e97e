"""
Signed provider callbacks, in the scheme webhook senders commonly use.

A provider sends ``X-Proctoring-Provider: <name>`` and
``X-Proctoring-Signature: t=<unix seconds>,v1=<hex>``, where the hex is the
HMAC-SHA256 of ``"<t>.<raw body>"`` keyed with the provider's secret from
``PROCTORING_RESULTS["PROVIDERS"]``. Signing the timestamp with the body makes
a captured request useless once ``SIGNATURE_TOLERANCE_SECONDS`` have passed;
the review id makes a replay inside that window harmless (idempotency).

Every failure raises the same ``SignatureError`` with the same message, so a
caller learns nothing about which part was wrong; the reason is kept on the
exception for the server's own log.
"""

import hashlib
import hmac
import time

from .conf import app_settings

PROVIDER_HEADER = "X-Proctoring-Provider"
SIGNATURE_HEADER = "X-Proctoring-Signature"
SCHEME = "v1"

#: Keyed when the provider is unknown, so an unknown name costs the same HMAC as a known one.
_UNKNOWN_PROVIDER_KEY = b"proctoring-results-unknown-provider"


class SignatureError(Exception):
    """The request is not signed by a configured provider within the time tolerance."""

    public_message = "The request could not be authenticated."

    def __init__(self, reason):
        self.reason = reason  # for the log only; never sent to the caller
        super().__init__(self.public_message)


def compute(secret, timestamp, body):
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``; ``body`` is the raw bytes posted."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(secret, body, timestamp=None):
    """The ``X-Proctoring-Signature`` header value for ``body`` (what a provider sends)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},{SCHEME}={compute(secret, timestamp, body)}"


def parse_header(value):
    """Return ``(timestamp, [signatures])`` from the header, or raise ``SignatureError``."""
    if not value or len(value) > 1024:
        raise SignatureError("missing or oversized signature header")
    timestamp, signatures = None, []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        if key == "t":
            if timestamp is not None or not item.isascii() or not item.isdigit() or len(item) > 12:
                raise SignatureError("malformed timestamp")
            timestamp = int(item)
        elif key == SCHEME:
            signatures.append(item)
        # Other schemes are ignored, so a provider can send a newer one beside v1.
    if timestamp is None or not signatures:
        raise SignatureError("timestamp or v1 signature missing")
    return timestamp, signatures


def provider_secret(name):
    """The configured secret of provider ``name``, or None."""
    providers = app_settings.PROVIDERS
    conf = providers.get(name) if isinstance(providers, dict) and isinstance(name, str) else None
    secret = conf.get("secret") if isinstance(conf, dict) else None
    return secret if isinstance(secret, (str, bytes)) and secret else None


def verify(provider, header, body, now=None):
    """
    Return the provider's name if ``header`` signs ``body`` for it, else raise ``SignatureError``.

    The HMAC is computed and compared (``hmac.compare_digest``) whether or not
    the provider is known, so response time does not tell names apart.
    """
    now = time.time() if now is None else now
    timestamp, signatures = parse_header(header)
    secret = provider_secret(provider)
    expected = compute(secret or _UNKNOWN_PROVIDER_KEY, timestamp, body)
    matched = False
    for candidate in signatures:
        # compare_digest wants equal types; a non-ASCII candidate can never match.
        if candidate.isascii() and hmac.compare_digest(expected, candidate.lower()):
            matched = True
    if secret is None:
        raise SignatureError("unknown provider")
    if not matched:
        raise SignatureError("signature mismatch")
    tolerance = app_settings.SIGNATURE_TOLERANCE_SECONDS
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 1:
        raise SignatureError("SIGNATURE_TOLERANCE_SECONDS is misconfigured (system check E007)")
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    return provider
