import pytest

from heard.analysis.closed import normalise_stance, option_stance, options_stance


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("Strongly agree", "agree"),
        ("Agree", "agree"),
        ("Strongly disagree", "disagree"),
        ("Disagree", "disagree"),
        ("Yes", "agree"),
        ("No", "disagree"),
        ("Neither agree nor disagree", None),
        ("Don't know", None),
        ("I support the proposal", "agree"),
        ("Oppose", "disagree"),
        ("", None),
        (None, None),
        ("Blue", None),
    ],
)
def test_option_stance(option, expected):
    assert option_stance(option) == expected


def test_conflicting_options_give_no_stance():
    assert options_stance(["Agree", "Disagree"]) is None
    assert options_stance(["Agree", "Blue"]) == "agree"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("support", "agree"), ("OPPOSE", "disagree"), ("For", "agree"), ("against", "disagree"),
        ("pro", "agree"), ("Con", "disagree"), ("yes", "agree"), ("NO", "disagree"),
        ("Agree", "agree"), ("disagree", "disagree"), ("Strongly agree", "agree"),
        ("unclear", "unclear"), ("Neutral", "unclear"), ("Don't know", "unclear"),
        ("mixed", "unclear"), ("", None), ("purple", None),
        ("Not applicable for me", "unclear"), ("Prefer not to say", "unclear"),
    ],
)
def test_normalise_stance(label, expected):
    assert normalise_stance(label) == expected
