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
            for data in _copied_rows(copy, cursor.connection):
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


def _copied_rows(copy, connection):
    """
    The COPY's rows, each as libpq received it: those it already holds are taken without psycopg's wait.

    ``Copy.read`` goes through psycopg's wait loop for every row, about half of
    the worker's CPU at a million rows. libpq's ``PQgetCopyData`` in async mode
    returns a row it already holds, or 0 when it must wait for the server, and
    only then does ``Copy.read`` wait. When it returns -1 the rows have ended:
    the COPY's result, the server's error if any, is read and raised here, as
    ``Copy.read`` would have done.
    """
    get_copy_data = connection.pgconn.get_copy_data
    while True:
        size, data = get_copy_data(1)
        if size > 0:
            yield data
        elif size == 0:
            if not (data := copy.read()):  # psycopg saw the end, and read the result
                return
            yield data
        else:
            _read_copy_result(connection)
            return


def _read_copy_result(connection):
    """The COPY's closing result(s) once libpq saw its end; the first error among them is raised."""
    from psycopg import errors, pq  # here: a site on MySQL/MariaDB or SQLite has no psycopg

    results = []
    while (result := connection.pgconn.get_result()) is not None:
        results.append(result)
    for result in results:
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(result, encoding=connection.info.encoding)


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

    When the batch holds no newline inside a quoted cell (one "\n" per row, so the
    ``replace`` added one byte per row), one ``replace`` over the joined batch does
    it in C, instead of a slice per row in Python.
    """
    chunk = b"".join(messages)
    lines = chunk.replace(b"\n", b"\r\n")
    if len(lines) - len(chunk) == len(messages):
        return lines
    return b"\r\n".join(bytes(message)[:-1] for message in messages) + b"\r\n"
