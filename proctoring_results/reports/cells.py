"""
Building blocks of report cells: ORM expressions whose value is already the cell's final text.

A spec (``specs/``) composes these, so every writer reads the same query and
gets the same text on PostgreSQL, MySQL/MariaDB and SQLite: timestamps as
``YYYY-MM-DDTHH:MM:SSZ`` in UTC, NULL for an empty cell, exact comparisons
whatever the collation, and a leading ``'`` where a spreadsheet would run a formula.
"""

from datetime import timezone as dt_timezone

from django.db.models import Aggregate, Case, Func, TextField, Value, When
from django.db.models.expressions import Col
from django.db.models.functions import Concat, NullIf, Substr
from django.db.models.lookups import In

#: A text cell starting with one of these is run as a formula by spreadsheets
#: (OWASP "CSV injection"); the full-width forms are folded to ASCII by some of them.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Separator of joined texts (a literal in MySQL's GROUP_CONCAT, so a constant).
COMMENT_SEPARATOR = "; "

#: ``YYYY-MM-DDTHH:MM:SSZ`` in each database's dialect; PostgreSQL's is its timestamp output under this DateStyle.
POSTGRESQL_DATESTYLE = "ISO"
_SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MYSQL_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%i:%sZ"


class UtcTimestampText(Func):
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC; NULL stays NULL (an empty cell)."""

    output_field = TextField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        # The server's own text of the UTC time cut to the second, "YYYY-MM-DD HH:MM:SS" under DateStyle
        # ISO (which the PostgreSQL writer sets, ``POSTGRESQL_DATESTYLE``), with "T" and "Z". to_char
        # gives the same text at 1.5 times the cost (docs/performance.rst).
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"(replace(date_trunc('second', ({sql}) AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z')", params

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores aware datetimes in SQLite as UTC text, which strftime reads.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"strftime(%s, {sql})", (_SQLITE_TIMESTAMP_FORMAT, *params)

    def as_mysql(self, compiler, connection, **extra_context):
        # Django stores aware datetimes in MySQL/MariaDB as UTC in DATETIME(6) columns.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"DATE_FORMAT({sql}, %s)", (*params, _MYSQL_TIMESTAMP_FORMAT)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError(f"Reports support PostgreSQL, MySQL/MariaDB and SQLite, not {connection.vendor}.")


class AfterTheSort(Func):
    """
    A cell that PostgreSQL computes after sorting the rows, in its parallel workers; elsewhere the cell itself.

    PostgreSQL evaluates an output column after the ORDER BY's sort when it holds
    a volatile function (its SELECT reference: output expressions are "effectively
    evaluated after sorting"). The sort then carries the stored values, narrower
    than the cells, and under a Gather Merge each worker formats its own sorted
    share, while the leader only merges and sends rows (``writers/postgresql.py``
    keeps it out of the plan's work). The volatile call, ``clock_timestamp()``,
    is parallel safe and made for an empty cell only, which stays empty. At a
    million attempts the COPY takes about 0.85 of the time it took with the cells
    formatted before the sort or by the leader (docs/performance.rst).
    """

    arity = 1
    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"COALESCE({sql}, CASE WHEN clock_timestamp() IS NULL THEN '' END)", params


class JoinedText(Aggregate):
    """
    The texts of a group joined by a separator, in the order of ``ordering``.

    ``string_agg`` / ``GROUP_CONCAT`` join rows in whatever order the plan reads them,
    which on PostgreSQL follows the table's free space: the same data could give a
    different cell from one report to the next. SQLite before 3.44 has no ORDER BY in
    aggregates; there the rows come through the group's index in rowid order, which is
    the same order.
    """

    output_field = TextField()

    def __init__(self, expression, ordering, separator=COMMENT_SEPARATOR, **extra):
        super().__init__(expression, Value(separator), ordering, **extra)

    def _parts(self, compiler):
        expression, separator, ordering = self.get_source_expressions()[:3]
        sql, params = compiler.compile(expression)
        order_sql, order_params = compiler.compile(ordering)
        return (sql, params), separator, (order_sql, order_params)

    def as_sql(self, compiler, connection, **extra_context):
        (sql, params), separator, (order_sql, order_params) = self._parts(compiler)
        sep_sql, sep_params = compiler.compile(separator)
        if connection.vendor == "postgresql" or connection.Database.sqlite_version_info >= (3, 44):
            function = "string_agg" if connection.vendor == "postgresql" else "group_concat"
            return f"{function}({sql}, {sep_sql} ORDER BY {order_sql})", (*params, *sep_params, *order_params)
        return f"group_concat({sql}, {sep_sql})", (*params, *sep_params)

    def as_mysql(self, compiler, connection, **extra_context):
        # GROUP_CONCAT stops at group_concat_max_len bytes: the MySQL writer lifts that for its session.
        (sql, params), separator, (order_sql, order_params) = self._parts(compiler)
        literal = _mysql_literal(separator.value)
        return f"GROUP_CONCAT({sql} ORDER BY {order_sql} SEPARATOR {literal})", (*params, *order_params)


def _mysql_literal(text):
    """
    A constant as a MySQL string literal, where the grammar wants a literal, not a parameter.

    Quotes and backslashes are refused rather than escaped (their escaping depends
    on the server's ``NO_BACKSLASH_ESCAPES`` mode); ``%`` is doubled because the
    driver formats the statement with its parameters.
    """
    if not isinstance(text, str) or any(c in text for c in "'\\\0"):
        raise ValueError("A MySQL literal here must be text without quotes, backslashes or NUL.")
    return "'" + text.replace("%", "%%") + "'"


class ExactText(Func):
    """
    The text itself, compared character for character on every database.

    MySQL/MariaDB compare text by its collation, and the usual ones
    (``utf8mb4_unicode_ci``, ``utf8mb4_0900_ai_ci``) are case-, accent- and
    width-insensitive, ignore control characters and may pad with spaces:
    ``'﹣' = '-'`` and ``' ' = ''`` are true there. Compared as bytes instead,
    as SQLite and PostgreSQL compare.
    """

    output_field = TextField()
    arity = 1
    template = "%(expressions)s"

    def as_mysql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS BINARY)", **extra_context)


class EmptyAsNull(Func):
    """NULL for empty text (``NULLIF(x, '')``), where only the empty text is empty, whatever the collation."""

    output_field = TextField()
    arity = 1

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(NullIf(self.get_source_expressions()[0], Value(""), output_field=TextField()))

    def as_mysql(self, compiler, connection, **extra_context):
        # NULLIF(' ', '') is NULL under MySQL's PAD SPACE collations; a length is not.
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"CASE WHEN CHAR_LENGTH({sql}) = 0 THEN NULL ELSE {sql} END", (*params, *params)


def neutralised(expression):
    """
    The cell's text, with a leading ``'`` when a spreadsheet would run it as a formula.

    Empty text becomes NULL, so every writer emits an unquoted empty cell
    (PostgreSQL's COPY would otherwise quote an empty string as ``""``).
    """
    return Neutralised(expression)


#: A text whose first character's code point lies in [first, last] is not empty and starts with no
#: formula prefix: every prefix is a control character, an ASCII symbol below "A", or a full-width form.
PLAIN_FIRST_CODE_POINTS = (ord("A"), 0xFEFF)


class Neutralised(Func):
    """
    ``neutralised``'s cell.

    On PostgreSQL a column's first code point (``ascii``) is first compared with
    ``PLAIN_FIRST_CODE_POINTS``: nearly every email, exam name and attempt code
    starts with a letter, and is then its own cell, without the substring, list
    lookup and NULLIF of the general case (a quarter of the cost, docs/performance.rst).
    """

    output_field = TextField()

    def __init__(self, expression, **extra):
        general = Case(
            When(In(ExactText(Substr(expression, 1, 1)), list(FORMULA_PREFIXES)), then=Concat(Value("'"), expression)),
            default=EmptyAsNull(expression),
            output_field=TextField(),
        )
        super().__init__(expression, general, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.get_source_expressions()[1])

    def as_postgresql(self, compiler, connection, **extra_context):
        expression, general = self.get_source_expressions()
        general_sql, general_params = compiler.compile(general)
        if not isinstance(expression, Col):
            return general_sql, general_params  # an expression (a subquery) is not worth computing twice more
        sql, params = compiler.compile(expression)
        first, last = PLAIN_FIRST_CODE_POINTS
        return (
            f"CASE WHEN ascii({sql}) BETWEEN {first} AND {last} THEN {sql} ELSE {general_sql} END",
            (*params, *params, *general_params),
        )


# ---------------------------------------------------------------- the same cells, formatted in Python
#
# Twins of the SQL cells above, for the writer that formats in Python what is
# cheaper there (MySQL/MariaDB: ``writers/mysql.py``). Each takes the plain stored
# values of one column of a batch of rows and returns their cells as CSV fields,
# quoted as csv.writer and COPY quote them; a column whose batch needs nothing
# done is returned as it is, checked in C over the whole batch. The
# cross-database tests hold both forms to the same bytes.

_SEPARATOR = "\x1f"  # joins a batch's texts for the checks; a text holding it takes the slow path
_CSV_SPECIALS = (",", '"', "\n", "\r")  # one character each: ``in`` finds them with memchr
_AFTER_SEPARATOR = tuple(_SEPARATOR + prefix for prefix in FORMULA_PREFIXES)


def csv_field(text):
    """A cell's final text as a CSV field (QUOTE_MINIMAL, as csv.writer and COPY); None is an empty field."""
    if not text:
        return ""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def neutralised_field(value):
    """Twin of ``neutralised``: a leading ``'`` before a formula prefix (compared exactly), empty text empty."""
    if not value:
        return ""
    if value.startswith(FORMULA_PREFIXES):
        value = "'" + value
    return csv_field(value)


def _plain_texts(values, prefixes=()):
    """True when no value is None or holds a character CSV quotes, and none starts with one of ``prefixes``."""
    if None in values:
        return False
    joined = _SEPARATOR + _SEPARATOR.join(values)
    return (
        joined.count(_SEPARATOR) == len(values)
        and not any(c in joined for c in _CSV_SPECIALS)
        and not any(p in joined for p in prefixes)
    )


def csv_fields(values):
    """``csv_field`` of each value (the SQL cells without a twin)."""
    return values if _plain_texts(values) else [csv_field(v) for v in values]


def neutralised_fields(values):
    """``neutralised_field`` of each value."""
    return values if _plain_texts(values, _AFTER_SEPARATOR) else [neutralised_field(v) for v in values]


def utc_timestamp_field(value):
    """
    Twin of ``UtcTimestampText``: ``YYYY-MM-DDTHH:MM:SSZ``; None is empty.

    ``value`` is an aware datetime, or (MySQL, ``writers/mysql.py``) the
    DATETIME column's own text ``YYYY-MM-DD HH:MM:SS[.ffffff]`` as bytes,
    which Django stores in UTC.
    """
    if value is None:
        return ""
    if value.__class__ is bytes:
        return (value[:10] + b"T" + value[11:19] + b"Z").decode()
    return value.astimezone(dt_timezone.utc).strftime(_SQLITE_TIMESTAMP_FORMAT)  # the same pattern in Python


def utc_timestamp_fields(values):
    return list(map(utc_timestamp_field, values))


def integer_fields(values):
    return list(map(str, values)) if None not in values else ["" if v is None else str(v) for v in values]


class Words(dict):
    """Stored value -> the cell's words; anything else (the SQL cell's NULL) is an empty field."""

    def __missing__(self, key):
        return ""

    def fields(self, values):
        return list(map(self.__getitem__, values))


#: ``True``/``False`` (the SQL cells' words) of a boolean, or of MySQL's 1/0 (equal keys).
BOOLEAN_WORDS = Words({False: "False", True: "True"})


def csv_lines(batch, formatters):
    """A batch of rows of values as CRLF-terminated CSV text, column by column through ``formatters``."""
    fields = [format_column(values) for format_column, values in zip(formatters, zip(*batch, strict=True), strict=True)]
    return "\r\n".join(map(",".join, zip(*fields, strict=True))) + "\r\n"
