"""
The figures of docs/security.rst are counted from the tests, and this test keeps them true.

Each security module says how many cases it tries (``cases_tried()``, from
its parametrisations, tables and hypothesis ``max_examples``); the page's
table must show the same numbers, so a change to the suite that is not
reflected in the docs fails here.
"""

import re
from pathlib import Path

from . import (
    test_authz_matrix,
    test_callbacks,
    test_csv_injection,
    test_failures,
    test_headers_and_deploy,
    test_personal_data,
    test_pii_guard,
    test_signed_links,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.rst"


def figures():
    """Category number → cases tried."""
    return {
        1: test_authz_matrix.cases_tried(),
        2: test_csv_injection.cases_tried(),
        3: test_signed_links.cases_tried(),
        4: test_callbacks.cases_tried(),
        5: test_failures.cases_tried(),
        # The scenarios, the private-object check on S3, and the guard's own tests.
        6: test_personal_data.cases_tried() + 1 + test_pii_guard.cases_tried(),
        7: test_headers_and_deploy.cases_tried() + test_headers_and_deploy.pinned_packages(),
    }


def documented():
    text = DOCS.read_text()
    table = text.split(".. figures-table-start", 1)[1].split(".. figures-table-end", 1)[0]
    return {
        int(n): (int(tried), int(lost))
        for n, tried, lost in re.findall(r"\* - (\d)\. [^\n]+\n\s+- (\d+)\n\s+- (\d+)", table)
    }


def test_the_documented_figures_are_the_tests_figures():
    expected = figures()
    shown = documented()
    assert sorted(shown) == sorted(expected), "docs/security.rst must list categories 1 to 7"
    wrong = {n: (shown[n][0], tried) for n, tried in expected.items() if shown[n][0] != tried}
    assert not wrong, f"docs/security.rst shows (documented, counted) {wrong}: update its figures table"
    assert all(lost == 0 for _tried, lost in shown.values())
    total = re.search(r"(\d[\d,]*) cases in all", DOCS.read_text())
    assert total and int(total.group(1).replace(",", "")) == sum(expected.values())
