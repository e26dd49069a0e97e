"""
Post one signed review to proctoring_results, as a proctoring provider does (docs/providers.rst).

Usage: python post_review.py BASE_URL ATTEMPT_CODE
(reads PROVIDER, SECRET and REVIEW_ID from the environment; the example
site's provider is demo-provider / demo-provider-secret).
"""

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request


def sign(secret, body, timestamp):
    """The X-Proctoring-Signature header: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    message = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def post_review(base_url, provider, secret, review):
    """POST ``review`` (a dict); return (HTTP status, the JSON answer)."""
    body = json.dumps(review).encode()  # sign exactly the bytes you send
    request = urllib.request.Request(
        base_url.rstrip("/") + "/api/proctoring-results/v1/reviews/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Proctoring-Provider": provider,
            "X-Proctoring-Signature": sign(secret, body, int(time.time())),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:  # 4xx: {"errors": {"<field>": ["message"]}}
        return error.code, json.load(error)


if __name__ == "__main__":
    base_url, attempt_code = sys.argv[1:3]
    status, answer = post_review(
        base_url,
        os.environ.get("PROVIDER", "demo-provider"),
        os.environ.get("SECRET", "demo-provider-secret"),
        {
            "attempt_code": attempt_code,
            "review_id": os.environ.get("REVIEW_ID", "rev-2026-0001"),
            "status": "passed",
            "flags": [{"rule": "music_or_tv", "comment": "Radio audible", "start": 125.0, "stop": 190.5}],
            "reviewer": "Reviewer 17",
            "reviewed_at": "2026-03-01T14:05:00Z",
        },
    )
    print(status, json.dumps(answer))
