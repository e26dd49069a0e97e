"""PostgreSQL: the report's query inside ``COPY ... TO STDOUT``, its bytes streamed as they come (psycopg 3)."""

from ..cells import POSTGRESQL_DATESTYLE
from .common import ProgressMarks, snapshot

#: Rows buffered before a write to the file.
COPY_FLUSH_ROWS = 1000


def write(queryset, fileobj, on_progress, using, counted=None):
    """
    ``COPY (<the report query>) TO STDOUT WITH (FORMAT csv)``; return the number of rows.

    The count and the COPY read one REPEATABLE READ, read-only snapshot
    (``common.snapshot``), so ``rows_total`` and the file agree. The timestamp
    cells are the server's own text of them in ``POSTGRESQL_DATESTYLE``, set here
    for the transaction whatever the server's or session's default.
    """
    sql, params = queryset.query.sql_with_params()
    counted = queryset.order_by() if counted is None else counted
    count_sql, count_params = counted.values_list("pk").query.sql_with_params()
    with snapshot(using, begin=("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)) as (conn, django_cursor, own):
        cursor = django_cursor.cursor  # the psycopg 3 cursor, for cursor.copy()
        # For this transaction: the timestamp cells' DateStyle, and a leader that only merges and sends rows
        # while the workers sort and format them (``cells.AfterTheSort``; it would run the plan too).
        cursor.execute(
            "SELECT set_config('DateStyle', %s, true), set_config('parallel_leader_participation', 'off', true)",
            (POSTGRESQL_DATESTYLE,),
        )
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        marks = ProgressMarks(total)
        if on_progress and own:
            on_progress(0, total)
        rows = 0
        pending = []
        report_progress = on_progress if own else None
        with cursor.copy(conn.ops.compose_sql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params)) as copy:
            # The server sends one CopyData message per row, each ending in "\n". The loop does
            # nothing else per row: counting and progress go with each flush.
            for data in copy:
                pending.append(data)
                if len(pending) == COPY_FLUSH_ROWS:
                    rows += _flush(pending, fileobj)
                    if report_progress:
                        for mark in marks.passed(rows):
                            report_progress(mark, total)
        rows += _flush(pending, fileobj)
    if on_progress:
        on_progress(rows, rows)
    return rows


def _flush(pending, fileobj):
    """Write the buffered rows and empty the buffer; return how many rows were written."""
    if not pending:
        return 0
    fileobj.write(_crlf_lines(pending))
    count = len(pending)
    pending.clear()
    return count


def _crlf_lines(messages):
    """
    COPY's rows (one message each, ending in "\n") as CRLF-terminated lines, as csv.writer writes them.

    When the batch holds no newline inside a quoted cell (one "\n" per row), one
    ``replace`` over the joined batch does it in C, instead of a slice per row in Python.
    """
    chunk = b"".join(messages)
    if chunk.count(b"\n") == len(messages):
        return chunk.replace(b"\n", b"\r\n")
    return b"\r\n".join(bytes(message)[:-1] for message in messages) + b"\r\n"
