"""Any database Django supports (SQLite in the demo and quick tests): the report's queryset through ``csv.writer``."""

from . import common


def write(queryset, fileobj, on_progress, using, counted=None):
    """Write the rows of ``queryset`` (counted on ``counted`` when given); return how many."""
    total = (queryset if counted is None else counted).using(using).count()
    if on_progress:
        on_progress(0, total)
    done = common.write_rows(
        queryset.using(using).iterator(chunk_size=common.CHUNK_ROWS), fileobj, on_progress, total,
    )
    if on_progress:
        on_progress(done, done)
    return done
