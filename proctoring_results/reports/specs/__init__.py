"""
Report types: what each report is made of, one module per type.

A module here is named after its ``ReportTask.ReportType`` value and holds
``SPEC``, a ``ReportSpec``. A second report type is one more module and one
more enum value (with the migration ``makemigrations`` writes for the new
choice); the writers, the file naming and the build read nothing but the spec.
Adding a column is a change to one spec module (its name in ``columns`` or
``extra_columns`` and its cell in ``cells``), its test, and docs/reports.rst.
A module may also hold ``PROFILES``: column profiles by name, other columns
for the same rows (the LMS's own report's, for instance), the default ``seed``.
"""

from importlib import import_module

from ...exceptions import InvalidReportOptions
from ...models import ReportTask
from ..cells import AfterTheSort, csv_fields


class ReportSpec:
    """
    One report type: its columns, each an ORM expression giving the cell's final text, and its rows.

    Each column becomes an annotation ``report_<column>`` defined in column
    order, so the compiled SELECT lists them in that order on every database
    and every writer (``writers/``) reads the same query.
    """

    #: The ``ReportTask.ReportType`` value; also the middle of the file name (``naming.py``).
    report_type = None
    #: Columns always written, in this order.
    columns = ()
    #: Opt-in columns, appended after ``columns`` in this order; never in a report unless asked for.
    extra_columns = ()
    #: The model of one row.
    model = None
    #: The rows' order: a partition field read one value at a time by the MySQL pages, then the
    #: two fields that order rows within it uniquely (the pages' keyset). Backed by one index.
    order = ()
    #: The index that serves ``order``, named to MySQL/MariaDB (``writers/mysql.py``); None: none named.
    order_index = None

    def default_extra_columns(self):
        """The extra columns of a report that asks for none (e.g. from a setting)."""
        return []

    def course_rows(self, course_key, using=None):
        """The course's rows, before any cell is added: what is counted, and what is paged."""
        raise NotImplementedError

    def partitions(self, course_key):
        """A values-list queryset of the course's values of ``order[0]``, in order (the MySQL pages)."""
        raise NotImplementedError

    def cells(self, names):
        """column name -> expression giving that column's final cell text, for the columns in ``names``."""
        raise NotImplementedError

    def twins(self, names):
        """
        name -> (plain source expression, column formatter) for the columns of ``names`` whose cell has a Python twin.

        A twin (``cells.py``) turns a batch's plain values of the column into
        the same CSV fields as the SQL cell; the MySQL writer reads those
        columns plain and formats them (``formatted_rows``). None by default.
        """
        return {}

    def aliases(self, names):
        """Expressions the cells of ``names`` refer to by name (``queryset.alias``); none by default."""
        return {}

    def data_state(self, course_key):
        """
        Plain values that change whenever the course's report would (counts, newest modified times).

        None (the default) means "unknown": every Generate makes a new report.
        """
        return None

    # ---------------------------------------------------------------- shared by every spec

    def validate_extra_columns(self, extra_columns):
        """Return the asked-for extra columns in report order, or raise ``InvalidReportOptions``."""
        if extra_columns is None:
            extra_columns = self.default_extra_columns() or []
        if isinstance(extra_columns, str):
            extra_columns = [c for c in extra_columns.split(",") if c.strip()]
        extra_columns = [str(c).strip() for c in extra_columns]
        unknown = sorted(set(extra_columns) - set(self.extra_columns))
        if unknown:
            raise InvalidReportOptions(
                f"Unknown report column(s): {', '.join(unknown)}. Extra columns are: {', '.join(self.extra_columns)}."
            )
        return [c for c in self.extra_columns if c in extra_columns]

    def column_names(self, extra_columns=()):
        """The report's columns in file order: ``columns``, then the asked-for extra ones in their order."""
        return (*self.columns, *[c for c in self.extra_columns if c in extra_columns])

    def header_bytes(self, extra_columns=()):
        return (",".join(self.column_names(extra_columns)) + "\r\n").encode()

    def rows(self, course_key, extra_columns=(), *, rows=None, sources=None):
        """
        The report's rows as a values-list queryset of final cell texts, in ``order``.

        ``rows`` is the course's ``course_rows`` (or a page of them) when the
        caller has them already; ``sources`` replaces some columns' cells
        (``formatted_rows``).
        """
        names = self.column_names(extra_columns)
        queryset = self.course_rows(course_key) if rows is None else rows
        aliases = self.aliases(names)
        if aliases:
            queryset = queryset.alias(**aliases)
        # Formatted after the sort where the database can (PostgreSQL's parallel workers); ``sources`` are plain.
        cells = {**{name: AfterTheSort(cell) for name, cell in self.cells(names).items()}, **(sources or {})}
        selected = {f"report_{name}": cells[name] for name in names}
        queryset = queryset.annotate(**selected)
        return queryset.order_by(*self.order).values_list(*selected)

    def formatted_rows(self, course_key, extra_columns=(), *, rows=None):
        """
        The rows for a writer that formats in Python: (values-list queryset, one column formatter per column).

        Columns with a twin are read as their plain values and formatted by it;
        the others are their SQL cells, quoted by ``cells.csv_fields``. Each
        batch of rows becomes CSV through ``cells.csv_lines``.
        """
        names = self.column_names(extra_columns)
        twins = self.twins(names)
        queryset = self.rows(
            course_key, extra_columns, rows=rows, sources={name: source for name, (source, _) in twins.items()}
        )
        return queryset, [twins[name][1] if name in twins else csv_fields for name in names]


#: The column profile of a report that names none: the seed's columns.
DEFAULT_PROFILE = "seed"


def spec_for(report_type, column_profile=None):
    """
    The ``ReportSpec`` of a ``ReportTask.ReportType`` value, from the module of this package named after it.

    ``column_profile`` picks one of the module's ``PROFILES`` (other columns for the
    same rows, e.g. the LMS's own report's); an unknown one raises ``InvalidReportOptions``.
    """
    module = import_module(f"{__name__}.{ReportTask.ReportType(report_type).value}")
    profiles = getattr(module, "PROFILES", {DEFAULT_PROFILE: module.SPEC})
    profile = DEFAULT_PROFILE if column_profile is None else column_profile
    if profile not in profiles:
        raise InvalidReportOptions(
            f"Unknown column profile: {str(profile)[:40]}. Column profiles are: {', '.join(profiles)}."
        )
    return profiles[profile]


def column_profiles(report_type):
    """The names of a report type's column profiles, the default first."""
    module = import_module(f"{__name__}.{ReportTask.ReportType(report_type).value}")
    return tuple(getattr(module, "PROFILES", {DEFAULT_PROFILE: module.SPEC}))
