import pytest

from heard.analysis.closed import option_stance, options_stance


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
