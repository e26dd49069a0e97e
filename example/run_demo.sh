#!/usr/bin/env bash
# The demo: migrate, load the demo course, then a real Celery worker (on a
# file-system broker that needs no server, with the periodic stale-task check)
# beside the site on 127.0.0.1:$PORT (default 8000; `make demo PORT=8123`).
# Everything it writes under example/var/ (the SQLite database, the broker's
# messages, the worker's log) is readable by its owner only, like the reports.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-../.venv/bin/python}"
PORT="${PORT:-8000}"
VAR="${EXAMPLE_VAR_DIR:-var}"  # where example/example/settings.py keeps the demo's data

if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65535 )); then
    echo "make demo: PORT must be a port number from 1 to 65535, not '$PORT'." >&2
    exit 2
fi
# Before anything starts, so a taken port leaves nothing behind. SO_REUSEADDR as
# runserver binds: a port still in TIME_WAIT from the last demo is free to it.
if ! "$PY" -c 'import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
    echo "make demo: port $PORT on 127.0.0.1 is already in use; stop what uses it or choose another, e.g. make demo PORT=$(( PORT % 65535 + 1 ))." >&2
    exit 1
fi

umask 077
mkdir -p "$VAR"
chmod 700 "$VAR"
# A database from a demo run before files were made owner-only.
chmod 600 "$VAR"/example.sqlite3* 2>/dev/null || true

"$PY" manage.py migrate --noinput
"$PY" manage.py load_demo_course --site-url "http://127.0.0.1:$PORT"
"$PY" -m celery -A example worker --loglevel=INFO --concurrency=1 --without-heartbeat --without-gossip \
    --without-mingle --beat --schedule "$VAR/celerybeat-schedule" > "$VAR/worker.log" 2>&1 &
WORKER=$!

stop_worker() {
    # Warm shutdown, then wait for it (at most 10 s) so no worker outlives the demo.
    kill -TERM "$WORKER" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$WORKER" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$WORKER" 2>/dev/null || true
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "Celery worker running (pid $WORKER, log ${EXAMPLE_VAR_DIR:-example/var}/worker.log)."
"$PY" manage.py runserver "127.0.0.1:$PORT"
