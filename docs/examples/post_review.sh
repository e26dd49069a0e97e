#!/usr/bin/env bash
# Post one signed review with curl and openssl (docs/providers.rst).
# Usage: ATTEMPT_CODE=... ./post_review.sh   (BASE_URL, PROVIDER, SECRET have the example site's defaults)
set -euo pipefail
BASE_URL=${BASE_URL:-http://127.0.0.1:8000}
PROVIDER=${PROVIDER:-demo-provider}
SECRET=${SECRET:-demo-provider-secret}

BODY=$(printf '{"attempt_code": "%s", "review_id": "%s", "status": "violation", "flags": [{"rule": "second_computer", "comment": "A laptop is used beside the monitor", "start": 300, "stop": 420}]}' \
    "$ATTEMPT_CODE" "${REVIEW_ID:-rev-2026-0002}")
T=$(date +%s)
# HMAC-SHA256 of "<t>.<body>", hex; `-r` prints "<hex> *stdin" on OpenSSL 1.1 and 3.
SIG=$(printf '%s.%s' "$T" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)

curl -sS -X POST "$BASE_URL/api/proctoring-results/v1/reviews/" \
    -H "Content-Type: application/json" \
    -H "X-Proctoring-Provider: $PROVIDER" \
    -H "X-Proctoring-Signature: t=$T,v1=$SIG" \
    --data-binary "$BODY" \
    -w '\nHTTP %{http_code}\n'
