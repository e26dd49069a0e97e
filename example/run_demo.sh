#!/usr/bin/env bash
# The demo: migrate, load the demo course, then a real Celery worker (on a
# file-system broker that needs no server, with the periodic stale-task check)
# beside the site on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
mkdir -p var
$PY manage.py migrate --noinput
$PY manage.py load_demo_course
../.venv/bin/celery -A example worker --loglevel=INFO --concurrency=1 --without-heartbeat --without-gossip \
    --without-mingle --beat --schedule var/celerybeat-schedule > var/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
echo "Celery worker running (pid $WORKER, log example/var/worker.log)."
$PY manage.py runserver 127.0.0.1:8000
