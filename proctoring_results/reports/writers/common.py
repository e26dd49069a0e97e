"""What the writers share: progress marks, rows through ``csv.writer`` or the cells' twins, one read-only snapshot."""

import csv
import io
from contextlib import contextmanager

from django.db import connections, transaction

from ...conf import app_settings
from ..cells import csv_lines

#: Rows fetched per round trip on the portable and MySQL/MariaDB paths.
CHUNK_ROWS = 2000


class ProgressMarks:
    """
    The row counts after which progress is written: each 1/``REPORT_PROGRESS_UPDATES`` of the rows.

    The same number of writes for any course of at least that many rows, so the
    task's queries stay constant in the number of attempts (the end is written anyway).
    """

    def __init__(self, total):
        updates = max(1, int(app_settings.REPORT_PROGRESS_UPDATES or 1))
        self._marks = iter(sorted({total * k // updates for k in range(1, updates)} - {0}))
        self._next = next(self._marks, None)

    def reached(self, rows):
        if rows != self._next:
            return False
        self._next = next(self._marks, None)
        return True

    def passed(self, rows):
        """The marks at or below ``rows`` not passed before (a batch of rows may pass several)."""
        while self._next is not None and self._next <= rows:
            yield self._next
            self._next = next(self._marks, None)


def write_rows(rows, fileobj, on_progress, total):
    """
    Rows of cell texts through ``csv.writer`` in CRLF lines, ``CHUNK_ROWS`` at a time; return how many.

    ``on_progress`` is called at each of the ``ProgressMarks``; the caller reports the end.
    """
    marks = ProgressMarks(total)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    done = 0
    for row in rows:
        writer.writerow(row)
        done += 1
        if done % CHUNK_ROWS == 0:
            fileobj.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
        if on_progress and marks.reached(done):
            on_progress(done, total)
    fileobj.write(buffer.getvalue().encode())
    return done


def write_batches(batches, formatters, fileobj, on_progress, total):
    """
    Batches of rows of plain values as CRLF lines (``cells.csv_lines``), a write per batch; return how many.

    ``on_progress`` is called once for each of the ``ProgressMarks`` a batch
    passes (with the mark's row count), so a small report writes progress as
    often as a large one; the caller reports the end.
    """
    marks = ProgressMarks(total)
    done = 0
    for batch in batches:
        fileobj.write(csv_lines(batch, formatters).encode())
        done += len(batch)
        if on_progress:
            for mark in marks.passed(done):
                on_progress(mark, total)
    return done


@contextmanager
def snapshot(using, begin):
    """
    A cursor on one consistent, read-only snapshot, so the count and the rows agree.

    Outside a transaction it is a connection of its own, opened with the
    ``begin`` statements and closed afterwards, leaving the default connection
    free to record progress as the rows go. Inside one (a test, a caller's
    ``atomic``) it is the caller's connection, whose transaction is the
    snapshot; progress can then only be reported at the end. Yields
    ``(connection, cursor, own_connection)``.
    """
    base = connections[using]
    if base.in_atomic_block:
        # A savepoint: a read that fails midway (PostgreSQL cancels a COPY whose reader stopped, which
        # aborts the transaction) is undone to here, and the caller's transaction goes on.
        with transaction.atomic(using=using), base.cursor() as cursor:
            yield base, cursor, False
        return
    conn = connections.create_connection(using)
    try:
        with conn.cursor() as cursor:
            for statement in begin:
                cursor.execute(statement)
            try:
                yield conn, cursor, True
            finally:
                cursor.execute("COMMIT")
    finally:
        conn.close()
