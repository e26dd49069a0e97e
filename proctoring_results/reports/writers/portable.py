"""Any database Django supports (SQLite in the demo and quick tests): the report's queryset through ``csv.writer``."""

import itertools

from django.db import connections

from . import common


def write(queryset, fileobj, on_progress, using, counted=None):
    """Write the rows of ``queryset`` (counted on ``counted`` when given); return how many."""
    if connections[using].vendor == "sqlite":
        return _write_sqlite(queryset, fileobj, on_progress, using, counted)
    total = (queryset if counted is None else counted).using(using).count()
    if on_progress:
        on_progress(0, total)
    done = common.write_rows(
        queryset.using(using).iterator(chunk_size=common.CHUNK_ROWS),
        fileobj,
        on_progress,
        total,
    )
    if on_progress:
        on_progress(done, done)
    return done


def _write_sqlite(queryset, fileobj, on_progress, using, counted=None):
    """
    SQLite: the count and the rows in one read transaction, on a connection of their own.

    SQLite commits an autocommit write only once every statement of its
    connection has finished: progress written on the connection still reading
    the rows would hold the database's write lock until the last row, and every
    Generate click or review callback would wait for the whole report. Read on
    their own connection (``common.snapshot``), the rows leave the default
    connection free to commit progress at once, and the count and the rows agree.
    """
    counted = queryset.order_by() if counted is None else counted
    with common.snapshot(using, begin=("BEGIN DEFERRED",)) as (conn, cursor, own_connection):
        count_sql, count_params = counted.values_list("pk").query.get_compiler(connection=conn).as_sql()
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        if on_progress and own_connection:
            on_progress(0, total)
        cursor.execute(*queryset.query.get_compiler(connection=conn).as_sql())
        rows = itertools.chain.from_iterable(iter(lambda: cursor.fetchmany(common.CHUNK_ROWS), []))
        done = common.write_rows(rows, fileobj, on_progress if own_connection else None, total)
    if on_progress:
        on_progress(done, done)
    return done
