"""
The dashboard's picture: each exam's attempts by review state, as server-side SVG.

Rendered on the server so the page needs no charting library, no CDN and no
JavaScript to show it; the SVG carries a text description (``<title>`` and
``<desc>``) and the page shows the same numbers in a table for screen readers.
"""

import unicodedata
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .statuses import AttemptStatus as S


@dataclass(frozen=True)
class StatusGroup:
    key: str
    label: str
    statuses: frozenset
    color: str  # fill; every colour has at least 4.5:1 contrast with white text
    text_color: str


#: The five groups a course team reads the state of review by, in chart order.
GROUPS = (
    StatusGroup("satisfactory", gettext_lazy("Satisfactory"), frozenset({S.VERIFIED}), "#1b7a2f", "#ffffff"),
    StatusGroup("unsatisfactory", gettext_lazy("Unsatisfactory"), frozenset({S.REJECTED}), "#b3261e", "#ffffff"),
    StatusGroup(
        "awaiting_review",
        gettext_lazy("Awaiting review"),
        frozenset({S.SUBMITTED, S.SECOND_REVIEW_REQUIRED}),
        "#8a5300",
        "#ffffff",
    ),
    StatusGroup(
        "in_progress",
        gettext_lazy("In progress"),
        frozenset({S.CREATED, S.READY_TO_START, S.STARTED, S.COMPLETED, S.TIMED_OUT}),
        "#1f5fa8",
        "#ffffff",
    ),
    StatusGroup("error", gettext_lazy("Error"), frozenset({S.ERROR}), "#555555", "#ffffff"),
)


@dataclass(frozen=True)
class ExamRow:
    """One exam's counts per group, in ``GROUPS`` order."""

    exam_id: int
    exam_name: str
    is_practice_exam: bool
    counts: tuple  # of (StatusGroup, int)

    @property
    def total(self):
        return sum(n for _group, n in self.counts)


def group_counts(exam_status_counts):
    """Fold ``api.course_status_counts`` (per status) into the chart's five groups."""
    return [
        ExamRow(
            exam_id=exam.exam_id,
            exam_name=exam.exam_name,
            is_practice_exam=exam.is_practice_exam,
            counts=tuple((g, sum(exam.by_status.get(s, 0) for s in g.statuses)) for g in GROUPS),
        )
        for exam in exam_status_counts
    ]


def describe(rows):
    """One sentence per exam, the chart's text alternative."""
    if not rows:
        return _("This course has no proctored exams yet.")
    return " ".join(
        _("%(exam)s: %(parts)s.")
        % {
            "exam": row.exam_name,
            "parts": ", ".join(f"{n} {group.label}" for group, n in row.counts),
        }
        for row in rows
    )


# Geometry, in SVG user units (the SVG scales to its container's width).
_WIDTH = 760
_LABEL_W = 230
_TOTAL_W = 70
_BAR_W = _WIDTH - _LABEL_W - _TOTAL_W - 10
_ROW_H = 30
_BAR_H = 20
_LEGEND_H = 34


_LINE_H = 16
#: An exam name wraps at about this many average characters (the label column holds ~30 at 13px).
_LABEL_CHARS = 28


def _num(value):
    return f"{value:.1f}"


def _char_width(char):
    """A character's width in average Latin characters: CJK and full-width count 2, capitals a little more."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2.0
    return 1.25 if char.isupper() else 1.0


def _wrap(text, width=_LABEL_CHARS):
    """
    An exam name in lines that fit the label column, breaking at spaces (inside a word if it must).

    The SVG cannot wrap text itself; the row grows with the lines, so every
    name is shown in full (it is also the label's tooltip, and in the table).
    """
    lines, line, used = [], "", 0.0
    for word in text.split():
        word_w = sum(_char_width(c) for c in word)
        gap = 1.0 if line else 0.0
        if line and used + gap + word_w <= width:
            line, used = f"{line} {word}", used + gap + word_w
            continue
        if line:
            lines.append(line)
        line, used = "", 0.0
        for char in word:  # a word wider than the column is cut where it must be
            if used + _char_width(char) > width:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + char, used + _char_width(char)
    if line:
        lines.append(line)
    return lines or [""]


def status_chart_svg(rows, *, chart_id="proctoring-status-chart"):
    """
    A horizontal stacked bar per exam, scaled to the largest exam, with a legend.

    Each segment has a ``<title>`` (hover tooltip and accessible name) and shows
    its count when it is wide enough to hold the number.
    """
    title = _("Exam attempts by status")
    description = describe(rows)
    names = [row.exam_name + (" " + _("(practice)") if row.is_practice_exam else "") for row in rows]
    labels = [_wrap(name) for name in names]
    row_heights = [max(_ROW_H, len(lines) * _LINE_H + 10) for lines in labels]
    height = _LEGEND_H + (sum(row_heights) if rows else _ROW_H) + 6
    largest = max((row.total for row in rows), default=0) or 1
    parts = []

    # Legend: a swatch and the label for each group.
    x = 0
    for group in GROUPS:
        parts.append(
            format_html(
                '<g class="pr-chart-legend"><rect x="{}" y="6" width="14" height="14" fill="{}"></rect>'
                '<text x="{}" y="18">{}</text></g>',
                x,
                group.color,
                x + 20,
                group.label,
            )
        )
        x += 30 + 8 * len(str(group.label))

    if not rows:
        parts.append(format_html('<text x="0" y="{}">{}</text>', _LEGEND_H + 20, description))

    y = _LEGEND_H
    for row, name, lines, row_h in zip(rows, names, labels, row_heights, strict=True):
        bar_y = y + (row_h - _ROW_H) / 2  # the bar sits level with the middle of the name
        segments = []
        offset = _LABEL_W
        for group, n in row.counts:
            if not n:
                continue
            width = _BAR_W * n / largest
            tooltip = _("%(exam)s: %(count)s %(status)s") % {"exam": row.exam_name, "count": n, "status": group.label}
            label = ""
            if width >= 8 * len(str(n)) + 6:
                label = format_html(
                    '<text x="{}" y="{}" fill="{}" text-anchor="middle" aria-hidden="true">{}</text>',
                    _num(offset + width / 2),
                    _num(bar_y + 15),
                    group.text_color,
                    n,
                )
            segments.append(
                format_html(
                    '<g class="pr-chart-segment pr-chart-{}" data-count="{}"><title>{}</title>'
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>{}</g>',
                    group.key,
                    n,
                    tooltip,
                    _num(offset),
                    _num(bar_y + 1),
                    _num(width),
                    _BAR_H,
                    group.color,
                    label,
                )
            )
            offset += width
        first_line_y = y + (row_h - len(lines) * _LINE_H) / 2 + 12
        parts.append(
            format_html(
                '<g class="pr-chart-row"><text class="pr-chart-label" x="0" y="{}"><title>{}</title>{}</text>{}'
                '<text x="{}" y="{}" aria-hidden="true">{}</text></g>',
                _num(first_line_y),
                name,
                format_html_join(
                    "",
                    '<tspan x="0" dy="{}">{}</tspan>',
                    ((0 if i == 0 else _LINE_H, line) for i, line in enumerate(lines)),
                ),
                mark_safe("".join(segments)),
                _LABEL_W + _BAR_W + 8,
                _num(bar_y + 15),
                row.total,
            )
        )
        y += row_h

    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="pr-status-chart" role="img" '
        'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'aria-labelledby="{id}-title {id}-desc" font-family="system-ui, sans-serif" font-size="13">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=_WIDTH,
        h=height,
        title=title,
        desc=description,
        body=format_html_join("", "{}", ((p,) for p in parts)),
    )
