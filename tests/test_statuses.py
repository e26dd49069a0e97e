"""The seed's ten statuses, their words, and every legal and illegal move."""

import itertools

import pytest

from proctoring_results import statuses
from proctoring_results.exceptions import InvalidTransition, UnknownStatus
from proctoring_results.statuses import AttemptStatus as S

# The seed's list of values in the CSV `status` column, in its order.
SEED_CSV_WORDS = [
    "created",
    "ready to start",
    "started",
    "timed out",
    "completed",
    "submitted",
    "second review required",
    "verified",
    "rejected",
    "error",
]
# The seed's table of values and their title-case names.
SEED_LABELS = [
    "Created",
    "Ready to Start",
    "Started",
    "Timed Out",
    "Completed",
    "Submitted",
    "Second Review Required",
    "Satisfactory",
    "Unsatisfactory",
    "Error",
]

LEGAL = {
    (S.CREATED, S.READY_TO_START),
    (S.CREATED, S.STARTED),
    (S.READY_TO_START, S.STARTED),
    (S.STARTED, S.COMPLETED),
    (S.STARTED, S.TIMED_OUT),
    (S.STARTED, S.SUBMITTED),
    (S.COMPLETED, S.SUBMITTED),
    (S.TIMED_OUT, S.SUBMITTED),
    (S.SUBMITTED, S.VERIFIED),
    (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.SECOND_REVIEW_REQUIRED),
    (S.SECOND_REVIEW_REQUIRED, S.VERIFIED),
    (S.SECOND_REVIEW_REQUIRED, S.REJECTED),
    (S.VERIFIED, S.REJECTED),
    (S.REJECTED, S.VERIFIED),
    (S.VERIFIED, S.SECOND_REVIEW_REQUIRED),
    (S.REJECTED, S.SECOND_REVIEW_REQUIRED),
    (S.ERROR, S.VERIFIED),
    (S.ERROR, S.REJECTED),
    (S.ERROR, S.SECOND_REVIEW_REQUIRED),
} | {(s, S.ERROR) for s in S if s != S.ERROR}


def test_ten_statuses_with_the_seeds_csv_words_and_labels():
    assert [statuses.csv_word(s) for s in S] == SEED_CSV_WORDS
    assert [statuses.label(s) for s in S] == SEED_LABELS


@pytest.mark.parametrize("pair", sorted(LEGAL))
def test_legal_transition(pair):
    statuses.check_transition(*pair)


ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)


@pytest.mark.parametrize("pair", ILLEGAL)
def test_illegal_transition_raises_a_clear_error(pair):
    with pytest.raises(InvalidTransition) as err:
        statuses.check_transition(*pair)
    assert str(err.value) == f"An exam attempt cannot go from '{pair[0]}' to '{pair[1]}'."


def test_unknown_status_names_the_allowed_values():
    with pytest.raises(UnknownStatus, match="'passed' is not an exam attempt status; expected one of: created"):
        statuses.parse_status("passed")
