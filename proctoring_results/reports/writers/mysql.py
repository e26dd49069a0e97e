"""
MySQL/MariaDB: the report partition by partition (exam by exam) through a streaming cursor, in one snapshot.

mysqlclient's default cursor holds a whole result set in memory (so does
Django's ``.iterator()`` on MySQL); an ``SSCursor`` reads rows as the server
sends them, so memory stays flat, and the queries are the count, the
partitions and one per partition, whatever the course's size. The columns
whose cell has a Python twin (``spec.twins``, ``cells.py``) are read as plain
values and formatted here: measured at a million attempts, MariaDB spent about
a third more CPU computing those cells in SQL than reading the plain columns,
and csv.writer over the texts cost the worker more than the twins
(docs/operations.rst).
"""

from contextlib import closing, contextmanager

from . import common

#: MySQL cuts GROUP_CONCAT at ``group_concat_max_len`` bytes (1024 by default on MySQL 8)
#: with only a warning; the report raises it for its session, so a long list of comments
#: is never silently cut (a cell is still bounded by the server's ``max_allowed_packet``).
MYSQL_GROUP_CONCAT_MAX_LEN = 2**32 - 1


def write(spec, course_key, extra_columns, fileobj, on_progress, using):
    """
    Write the report's rows, one streamed query per partition; return how many.

    One query per partition, not one for the course: with ``exam_id IN (...)``
    MariaDB sorted the course's rows before sending the first. As on
    PostgreSQL, the count and the rows read one consistent, read-only snapshot
    (``common.snapshot``).
    """
    from django.db.backends.mysql.base import CursorWrapper as MySQLCursorWrapper
    from MySQLdb.cursors import SSCursor

    rows = spec.course_rows(course_key, using)
    partitions = spec.partitions(course_key)
    counted = rows.order_by().values_list("pk")
    partition_field = spec.order[0]
    begin = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    with common.snapshot(using, begin) as (conn, cursor, own_connection):

        def sql(queryset):
            return queryset.query.get_compiler(connection=conn).as_sql()

        cursor.execute("SET SESSION group_concat_max_len = %s", [MYSQL_GROUP_CONCAT_MAX_LEN])
        count_sql, count_params = sql(counted)
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        cursor.execute(*sql(partitions))
        values = [value for (value,) in cursor.fetchall()]
        if on_progress and own_connection:
            on_progress(0, total)
        formatters = spec.formatted_rows(course_key, extra_columns, rows=rows)[1]

        def batches():
            # Through Django's cursor wrappers: logged and counted like any query, errors as Django's.
            stream = conn._prepare_cursor(MySQLCursorWrapper(conn.connection.cursor(SSCursor)))
            try:
                for value in values:
                    one = spec.model._default_manager.filter(**{partition_field: value})
                    queryset = spec.formatted_rows(course_key, extra_columns, rows=one)[0]
                    with _stored_timestamps(conn.connection):
                        stream.execute(*_in_index_order(spec, *sql(queryset), conn))
                    while batch := stream.fetchmany(common.CHUNK_ROWS):
                        yield batch
            finally:
                stream.close()

        # Closed however the writing ends: a write that fails midway (a full disk, S3) must not leave the
        # streamed result unread, or the connection answers its next statement "Commands out of sync".
        with closing(batches()) as streamed:
            done = common.write_batches(streamed, formatters, fileobj, on_progress if own_connection else None, total)
    if on_progress:
        on_progress(done, done)
    return done


def _in_index_order(spec, sql, params, connection):
    """
    One partition's query, told to read ``spec.order_index`` first (MySQL index hints).

    Left to itself MariaDB read an exam's rows by scanning the learners table,
    then sorted them in a temporary table (``EXPLAIN``): a fifth more CPU, and
    no row sent before the sort ends. The hints go in the outer query's
    ``FROM``; if it is not found exactly once, the query goes as compiled.
    """
    if not spec.order_index:
        return sql, params
    table = connection.ops.quote_name(spec.model._meta.db_table)
    index = connection.ops.quote_name(spec.order_index)
    outer_from = f" FROM {table} INNER JOIN "
    if sql.count(outer_from) != 1 or not sql.startswith("SELECT "):
        return sql, params
    sql = sql.replace(outer_from, f" FROM {table} FORCE INDEX ({index}) INNER JOIN ", 1)
    return "SELECT STRAIGHT_JOIN " + sql[len("SELECT ") :], params


@contextmanager
def _stored_timestamps(mysql_connection):
    """
    Results created inside read DATETIME columns as their own text, in bytes (``cells.utc_timestamp_field``).

    mysqlclient turns each DATETIME into a ``datetime`` in Python, seven
    ``int()`` calls apiece (a third of the worker's time at a million
    attempts); a result keeps the converters of its creation, so they are
    swapped for ``execute`` alone. (Measured: a converter that makes the
    cell's text at once costs more: mysqlclient decodes the bytes before calling it.)
    """
    from MySQLdb.constants import FIELD_TYPE

    saved = mysql_connection.converter
    as_text = (FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP)
    mysql_connection.converter = {k: v for k, v in saved.items() if k not in as_text}
    try:
        yield
    finally:
        mysql_connection.converter = saved
