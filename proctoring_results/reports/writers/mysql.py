"""
MySQL/MariaDB: the report in keyset pages, in one snapshot.

mysqlclient holds a whole result set in memory (Django's ``.iterator()`` does
not stream on MySQL), so one query for a million attempts would hold a million
rows. Instead each partition of the rows (an exam) is read in pages of
``common.CHUNK_ROWS`` that go on after the last key seen, in report order.
"""

from django.db.models import Q

from . import common

#: MySQL cuts GROUP_CONCAT at ``group_concat_max_len`` bytes (1024 by default on MySQL 8)
#: with only a warning; the report raises it for its session, so a long list of comments
#: is never silently cut (a cell is still bounded by the server's ``max_allowed_packet``).
MYSQL_GROUP_CONCAT_MAX_LEN = 2**32 - 1


def write(spec, course_key, extra_columns, fileobj, on_progress, using):
    """
    Write the report's rows in pages; return how many.

    Each page is read in two steps (``_page_keys`` finds where the page ends,
    then the cells of the rows up to there): memory stays flat, and the bytes
    are those of the other writers. As on PostgreSQL, the count and the pages
    read one consistent, read-only snapshot (``common.snapshot``).
    """
    rows = spec.course_rows(course_key, using)
    partitions = spec.partitions(course_key)
    counted = rows.order_by().values_list("pk")
    begin = ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    with common.snapshot(using, begin) as (conn, cursor, own_connection):

        def run(queryset):
            cursor.execute(*queryset.query.get_compiler(connection=conn).as_sql())
            return cursor.fetchall()

        cursor.execute("SET SESSION group_concat_max_len = %s", [MYSQL_GROUP_CONCAT_MAX_LEN])
        count_sql, count_params = counted.query.get_compiler(connection=conn).as_sql()
        cursor.execute(f"SELECT COUNT(*) FROM ({count_sql}) AS report_rows", count_params)
        total = cursor.fetchone()[0]
        if on_progress and own_connection:
            on_progress(0, total)

        def pages():
            for (partition,) in run(partitions):
                after = (0, 0)  # ids are positive: the first page starts before them all
                while True:
                    keys = run(_page_keys(spec, partition, after))
                    if keys:
                        page = _page_rows(spec, partition, after, keys[-1])
                        yield from run(spec.rows(course_key, extra_columns, rows=page))
                    if len(keys) < common.CHUNK_ROWS:
                        break
                    after = keys[-1]

        done = common.write_rows(pages(), fileobj, on_progress if own_connection else None, total)
    if on_progress:
        on_progress(done, done)
    return done


def _page_keys(spec, partition, after):
    """
    The keys of the next ``CHUNK_ROWS`` rows of one partition after the key ``after``.

    Read from the index of ``spec.order`` alone (it holds every column asked
    for), nothing joined: asked with the cells' joins and a LIMIT, MariaDB
    drove some pages from the learners table with a temporary table and a
    filesort (1.6 s a page; 47 s for a million attempts).
    """
    partition_field, *key = spec.order
    page = spec.model._default_manager.filter(_after(key, after), **{partition_field: partition})
    return page.order_by(*key).values_list(*key)[:common.CHUNK_ROWS]


def _page_rows(spec, partition, after, last):
    """
    One partition's rows after the key ``after``, up to and including the key ``last``.

    Bounded on both sides, the page is planned as one range of the index, with
    the cells' tables joined by key.
    """
    partition_field, (first, second) = spec.order[0], spec.order[1:]
    until = Q(**{f"{first}__lte": last[0]}) & (Q(**{f"{first}__lt": last[0]}) | Q(**{f"{second}__lte": last[1]}))
    return spec.model._default_manager.filter(_after(spec.order[1:], after), until, **{partition_field: partition})


def _after(key, after):
    """
    ``(a, b) > (x, y)`` spelled ``a >= x AND (a > x OR b > y)``.

    MySQL and MariaDB plan the row comparison poorly; this form is a range of
    the index on every page, the first (``0, 0``) included.
    """
    (first, second), (x, y) = key, after
    return Q(**{f"{first}__gte": x}) & (Q(**{f"{first}__gt": x}) | Q(**{f"{second}__gt": y}))
