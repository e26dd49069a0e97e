"""
Follow edx-proctoring live: its model signals, the sync task's body, and the reconciliation.

Inside an LMS that runs edx-proctoring, every save or delete of one of its
exams, attempts, reviews, review comments or allowances is sent, once the
LMS's transaction commits, to a Celery task by name. The task re-reads the
current edx-proctoring rows and hands them to the importer's row mapping
(``importers.py``: the one home of "an edx-proctoring row becomes these rows
here"), so the same change applied twice writes once, and a change delivered
late writes the state of now, never an older one.

The learner's request only pays for ``transaction.on_commit`` and appending
to an in-memory queue; a thread of the process publishes to the broker. Any
failure on the way is logged (ids and exception type only, no personal data)
and left to the reconciliation, a Celery beat task that reads
the rows modified since its last pass (docs/howto/install_openedx.rst).
"""

import atexit
import json
import logging
import os
import queue
import threading
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import partial

from celery import current_app
from django.apps import apps
from django.db import connections, router, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .. import importers
from ..conf import app_settings
from ..importers import ALLOWANCES, ATTEMPTS, COMMENTS, EXAMS, REVIEWS
from ..models import EdxProctoringSync

log = logging.getLogger(__name__)

SYNC_TASK = "proctoring_results.sync_edx_proctoring_changes"
RECONCILE_TASK = "proctoring_results.reconcile_edx_proctoring"

#: simple_history's table of edx-proctoring attempts: a '-' row is a deleted attempt.
ATTEMPT_HISTORY = "proctoring_proctoredexamstudentattempt_history"

#: Where a full pass starts reading (edx-proctoring's rows are all younger).
EPOCH = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)

#: A pass claimed longer ago than this is taken to have died with its worker.
STALE_PASS = timedelta(hours=1)

#: edx-proctoring model name -> the table its rows live in.
MODELS = {
    "ProctoredExam": EXAMS,
    "ProctoredExamStudentAttempt": ATTEMPTS,
    "ProctoredExamStudentAllowance": ALLOWANCES,
    "ProctoredExamSoftwareSecureReview": REVIEWS,
    "ProctoredExamSoftwareSecureComment": COMMENTS,
}


# ---------------------------------------------------------------- receivers (the learner's request)


def connect():
    """Connect the receivers to edx-proctoring's models; nothing when edx-proctoring is not installed."""
    if not apps.is_installed("edx_proctoring"):
        return False
    for name in MODELS:
        model = apps.get_model("edx_proctoring", name)
        post_save.connect(changed, sender=model, dispatch_uid=f"proctoring_results.sync.save.{name}")
        post_delete.connect(removed, sender=model, dispatch_uid=f"proctoring_results.sync.delete.{name}")
    return True


def disconnect():
    """Undo ``connect()`` (the overhead benchmark measures edx-proctoring alone this way)."""
    if not apps.is_installed("edx_proctoring"):
        return
    for name in MODELS:
        model = apps.get_model("edx_proctoring", name)
        post_save.disconnect(sender=model, dispatch_uid=f"proctoring_results.sync.save.{name}")
        post_delete.disconnect(sender=model, dispatch_uid=f"proctoring_results.sync.delete.{name}")


def change_of(sender, instance, deleted):
    """``(kind, key)`` that the sync task applies for this saved or deleted row (plain JSON values)."""
    table = MODELS[sender.__name__]
    if table == ATTEMPTS and deleted:
        return "removed_attempt", [instance.pk, instance.attempt_code]
    if table == REVIEWS and deleted:
        return "removed_review", instance.pk
    if table == COMMENTS:
        return REVIEWS, instance.review_id
    if table == ALLOWANCES:
        return ALLOWANCES, [instance.user_id, instance.proctored_exam_id]
    return table, instance.pk


def changed(sender, instance, **kwargs):
    _defer(sender, instance, deleted=False)


def removed(sender, instance, **kwargs):
    _defer(sender, instance, deleted=True)


def _defer(sender, instance, deleted):
    """Queue the change for the publisher once edx-proctoring's transaction commits; never raise into its code."""
    try:
        if not app_settings.EDX_PROCTORING_SYNC:
            return
        kind, key = change_of(sender, instance, deleted)
        transaction.on_commit(partial(_queue, (kind, key)), using=router.db_for_write(sender))
    except Exception as exc:  # noqa: BLE001 - the learner's exam must go on; reconciliation repairs
        log.warning(
            "edx-proctoring sync: %s of a %s not deferred (%s); the reconciliation will apply it.",
            "delete" if deleted else "save",
            sender.__name__,
            type(exc).__name__,
        )


def _queue(change):
    """The ``on_commit`` callback: runs after edx-proctoring committed, where an exception would reach its caller."""
    try:
        publisher.put(change)
    except Exception as exc:  # noqa: BLE001 - same rule as above
        log.warning(
            "edx-proctoring sync: a %s change not queued (%s); the reconciliation will apply it.",
            change[0],
            type(exc).__name__,
        )


def enqueue(changes):
    """Publish changes to the sync task, by name, without retrying: the reconciliation covers a failure."""
    options = {"retry": False, "ignore_result": True}
    if app_settings.EDX_PROCTORING_SYNC_QUEUE:
        options["queue"] = app_settings.EDX_PROCTORING_SYNC_QUEUE
    try:
        current_app.send_task(SYNC_TASK, args=[changes], **options)
    except Exception as exc:  # noqa: BLE001 - broker down, misconfigured: same answer
        log.warning(
            "edx-proctoring sync: %d change(s) not sent (%s); the reconciliation will apply them.",
            len(changes),
            type(exc).__name__,
        )


class Publisher:
    """
    Sends changes to the broker from a thread of its own, so the learner's request never waits on it.

    The request only appends to an in-memory queue (microseconds); a slow, black-holed
    or down broker costs the thread, not the learner. The thread sends what piled
    up as one message (at most ``BATCH`` changes, duplicates dropped). Changes still
    queued when the process dies are lost here and found by the reconciliation.
    One thread per process, started again after a fork (prefork workers, gunicorn).
    """

    BATCH = 100

    def __init__(self):
        self._reset()
        # A fork can happen while another thread holds the lock: the child starts with fresh ones.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._pid = None
        self._queue = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def put(self, change):
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._pending = 0
                threading.Thread(
                    target=self._run, args=(self._queue,), name="proctoring-results-sync", daemon=True
                ).start()
                self._pid = os.getpid()
            self._pending += 1
            self._queue.put(change)

    def _run(self, changes):
        while True:
            batch = [changes.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(changes.get_nowait())
                except queue.Empty:
                    break
            unique = list(dict.fromkeys(json.dumps(c) for c in batch))
            try:
                enqueue([json.loads(c) for c in unique])
            finally:
                with self._lock:
                    self._pending -= len(batch)
                    self._idle.notify_all()

    def flush(self, timeout=10.0):
        """Wait until every queued change was handed to the broker (or failed); True if it was in time."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0 or self._pid != os.getpid(), timeout)


publisher = Publisher()
atexit.register(publisher.flush, 2.0)


# ---------------------------------------------------------------- the sync task (a worker)


def _source():
    """The database alias holding edx-proctoring's tables (the LMS's own, unless a router says otherwise)."""
    return router.db_for_read(apps.get_model("edx_proctoring", "ProctoredExamStudentAttempt"))


def _ensure_state():
    """The sync state row exists (created outside the writing transaction; see ``_state_locked``)."""
    EdxProctoringSync.objects.get_or_create(pk=EdxProctoringSync.ROW_ID)


def _state_locked():
    """
    The sync state row, locked until the transaction ends: sync writes go one at a time.

    It is the transaction's first statement, and a locking read: on MySQL's
    REPEATABLE READ the snapshot then starts with the first plain read, after
    the lock, so the source rows read next are the ones committed by now.
    """
    return EdxProctoringSync.objects.select_for_update().get(pk=EdxProctoringSync.ROW_ID)


class _Source:
    """Key look-ups in edx-proctoring's tables: which rows a change touches (the mapping stays in importers)."""

    def __init__(self, alias):
        self.connection = connections[alias]

    def q(self, *names):
        return ", ".join(self.connection.ops.quote_name(n) for n in names)

    def when(self, value):
        """An aware datetime as this database takes it in raw SQL (MySQL and SQLite: naive UTC)."""
        return self.connection.ops.adapt_datetimefield_value(value)

    def column(self, sql, params):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def where_in(self, select, table, column, values):
        values = list(values)
        if not values:
            return []
        marks = ", ".join(["%s"] * len(values))
        return self.column(f"SELECT {self.q(select)} FROM {self.q(table)} WHERE {self.q(column)} IN ({marks})", values)

    def allowance_attempts(self, pairs):
        ids = []
        for user_id, exam_id in pairs:
            ids += self.column(
                f"SELECT {self.q('id')} FROM {self.q(ATTEMPTS)} "
                f"WHERE {self.q('user_id')} = %s AND {self.q('proctored_exam_id')} = %s",
                [user_id, exam_id],
            )
        return ids


def rows_of(source, changes):
    """``{table: ids}`` for the importer: the changed rows, and the exams and attempts they depend on."""
    exams, attempts, reviews, removed_attempts, removed_reviews = set(), set(), set(), {}, set()
    for kind, key in changes:
        if kind == EXAMS:
            exams.add(key)
            attempts.update(source.where_in("id", ATTEMPTS, "proctored_exam_id", [key]))
        elif kind == ATTEMPTS:
            attempts.add(key)
        elif kind == ALLOWANCES:
            attempts.update(source.allowance_attempts([key]))
        elif kind == REVIEWS:
            reviews.add(key)
        elif kind == "removed_attempt":
            removed_attempts[key[1]] = key[0]
        elif kind == "removed_review":
            removed_reviews.add(key)
    # A review's attempt is read again too, so the review's outcome is taken from its current status.
    codes = source.where_in("attempt_code", REVIEWS, "id", reviews)
    attempts.update(source.where_in("id", ATTEMPTS, "attempt_code", codes))
    exams.update(source.where_in("proctored_exam_id", ATTEMPTS, "id", attempts))
    exams.update(e for e in source.where_in("exam_id", REVIEWS, "id", reviews) if e)
    only = {EXAMS: exams, ATTEMPTS: attempts, REVIEWS: reviews}
    return only, removed_attempts, removed_reviews


def apply_changes(changes):
    """
    Apply ``[(kind, key), ...]`` from the current edx-proctoring rows; returns the import's summary and removals.

    The state row is locked first and the source read after, so of two tasks for
    one attempt the later one always reads (and writes) the later state.
    """
    alias = _source()
    source = _Source(alias)
    _ensure_state()
    with transaction.atomic():
        _state_locked()
        only, removed_attempts, removed_reviews = rows_of(source, changes)
        summary = importers.import_edx_proctoring(alias, only=only)
        gone = importers.remove_missing(alias, attempt_codes=removed_attempts, review_ids=removed_reviews)
    return summary, gone


# ---------------------------------------------------------------- reconciliation (Celery beat)


def _claim(now):
    """Mark a pass as running, unless one already is (one UPDATE: two beats cannot both win)."""
    _ensure_state()
    free = Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_PASS)
    return EdxProctoringSync.objects.filter(free, pk=EdxProctoringSync.ROW_ID).update(running_since=now) == 1


def _changed_keys(source, table, since, batch_size):
    """``(modified, id)`` of ``table``'s rows modified at or after ``since``, in keyset pages."""
    q = source.q
    after = (since, 0)
    while True:
        with source.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {q('modified')}, {q('id')} FROM {q(table)} "
                f"WHERE {q('modified')} > %s OR ({q('modified')} = %s AND {q('id')} > %s) "
                f"ORDER BY {q('modified')}, {q('id')} LIMIT %s",
                [source.when(after[0]), source.when(after[0]), after[1], batch_size],
            )
            rows = [(importers.aware(m), i) for m, i in cursor.fetchall()]
        if not rows:
            return
        yield rows
        after = (rows[-1][0], rows[-1][1])


def _kind(table, source, ids):
    if table == ALLOWANCES:
        pairs = []
        for row_id in ids:
            with source.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {source.q('user_id', 'proctored_exam_id')} FROM {source.q(ALLOWANCES)} "
                    f"WHERE {source.q('id')} = %s",
                    [row_id],
                )
                pairs += [(ALLOWANCES, list(row)) for row in cursor.fetchall()]
        return pairs
    if table == COMMENTS:
        return [(REVIEWS, r) for r in source.where_in("review_id", COMMENTS, "id", ids)]
    return [(table, row_id) for row_id in ids]


def _deleted_attempts(source, since):
    """``(history date, attempt id, code)`` of attempts deleted through the ORM since ``since``."""
    if ATTEMPT_HISTORY not in source.connection.introspection.table_names():
        return []
    q = source.q
    with source.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('history_date', 'id', 'attempt_code')} FROM {q(ATTEMPT_HISTORY)} "
            f"WHERE {q('history_type')} = %s AND {q('history_date')} >= %s ORDER BY {q('history_date')}",
            ["-", source.when(since)],
        )
        return [(importers.aware(d), i, c) for d, i, c in cursor.fetchall()]


def _repaired(summary, gone):
    return sum(c.created + c.updated for c in summary.counts) + gone


def reconcile(full=False, now=None):
    """
    One reconciliation pass; returns the ``EdxProctoringSync`` row after it, or None if a pass is running.

    Incremental: the rows modified since the last pass began (less the overlap
    margin), and the attempts deleted since then. Full (and the first pass
    ever): every row, which also catches changes that left ``modified`` alone.
    Each batch is one transaction under the sync lock, mapped by the importer.
    """
    started = now or timezone.now()
    if not _claim(started):
        log.info("edx-proctoring reconciliation: a pass is already running; this one is skipped.")
        return None
    alias = _source()
    source = _Source(alias)
    state = EdxProctoringSync.objects.get(pk=EdxProctoringSync.ROW_ID)
    full = full or state.synced_until is None
    since = (
        EPOCH if full else state.synced_until - timedelta(seconds=app_settings.EDX_PROCTORING_RECONCILE_OVERLAP_SECONDS)
    )
    size = app_settings.EDX_PROCTORING_RECONCILE_BATCH_SIZE
    read = repaired = 0
    oldest = None
    clock = time.monotonic()
    try:
        for table in (EXAMS, ALLOWANCES, ATTEMPTS, REVIEWS, COMMENTS):
            for rows in _changed_keys(source, table, since, size):
                with transaction.atomic():
                    _state_locked()
                    only, _ra, _rr = rows_of(source, _kind(table, source, [i for _m, i in rows]))
                    fixed = _repaired(importers.import_edx_proctoring(alias, only=only, batch_size=size), 0)
                read += len(rows)
                if fixed:
                    repaired += fixed
                    oldest = min(filter(None, (oldest, rows[0][0])))
        deleted = _deleted_attempts(source, since)
        for start in range(0, len(deleted), size):
            chunk = deleted[start : start + size]
            with transaction.atomic():
                _state_locked()
                gone = importers.remove_missing(alias, attempt_codes={c: i for _d, i, c in chunk})
            read += len(chunk)
            if gone:
                repaired += gone
                oldest = min(filter(None, (oldest, chunk[0][0])))
    except Exception as exc:
        EdxProctoringSync.objects.filter(pk=EdxProctoringSync.ROW_ID).update(
            running_since=None, last_error=type(exc).__name__[:255]
        )
        log.warning(
            "edx-proctoring reconciliation failed (%s); the next pass starts from the same point.", type(exc).__name__
        )
        raise
    behind = max(0.0, (started - oldest).total_seconds()) if oldest and oldest > EPOCH else 0.0
    EdxProctoringSync.objects.filter(pk=EdxProctoringSync.ROW_ID).update(
        synced_until=started,
        running_since=None,
        last_pass_started_at=started,
        last_pass_finished_at=timezone.now(),
        last_pass_full=full,
        behind_seconds=behind,
        last_pass_read=read,
        last_pass_repaired=repaired,
        last_error="",
        **({"last_full_pass_at": started} if full else {}),
    )
    log.info(
        "edx-proctoring reconciliation (%s): read %d rows, repaired %d, behind by %.1f s, took %.1f s.",
        "full" if full else "incremental",
        read,
        repaired,
        behind,
        time.monotonic() - clock,
    )
    return EdxProctoringSync.objects.get(pk=EdxProctoringSync.ROW_ID)


def reconcile_due(now=None):
    """The beat entry's body: an incremental pass, or a full one when the last is older than the setting says."""
    now = now or timezone.now()
    hours = app_settings.EDX_PROCTORING_FULL_RECONCILE_HOURS
    state = EdxProctoringSync.objects.filter(pk=EdxProctoringSync.ROW_ID).first()
    full = bool(hours) and (
        state is None or state.last_full_pass_at is None or now - state.last_full_pass_at >= timedelta(hours=hours)
    )
    return reconcile(full=full, now=now)
