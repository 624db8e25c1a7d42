"""Exact, near and campaign groups; representatives and expand."""

from __future__ import annotations

import random

import pytest

from heard.analysis.duplicates import (
    Group,
    expand,
    find_groups,
    representatives,
    summarise_groups,
)

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _words(rnd: random.Random, n: int) -> list[str]:
    return ["".join(rnd.choice(_LETTERS) for _ in range(rnd.randint(3, 9))) for _ in range(n)]


def _varied(rnd: random.Random, count: int) -> list[str]:
    """Unrelated texts from a shared vocabulary (so they overlap a little)."""
    vocab = _words(rnd, 3000)
    return [" ".join(rnd.choices(vocab, k=rnd.randint(12, 90))) for _ in range(count)]


def _group_of(groups: list[Group], index: int) -> Group | None:
    return next((g for g in groups if index in g.members), None)


def test_exact_copies_grouped_after_normalisation():
    texts = [
        "We need more buses in the evening, and cheaper fares for students.",
        "we need more buses in the evening, and cheaper fares for students",
        "  WE NEED MORE BUSES IN THE EVENING, AND CHEAPER FARES FOR STUDENTS!  ",
        "Something else entirely about parking charges near the high street shops.",
    ]
    groups = find_groups(texts)
    assert len(groups) == 1
    g = groups[0]
    assert g.kind == "exact"
    assert g.members == [0, 1, 2] and g.size == 3
    assert g.canonical == 0


def test_near_copies_with_small_edits_grouped():
    rnd = random.Random(3)
    base = _words(rnd, 80)
    texts = _varied(rnd, 40)
    copies = []
    for _ in range(3):
        edited = list(base)
        edited[rnd.randrange(len(edited))] = "changed"
        copies.append(len(texts))
        texts.append(" ".join(edited))
    groups = find_groups(texts)
    g = _group_of(groups, copies[0])
    assert g is not None and g.kind == "near"
    assert g.members == copies
    assert sum(gr.size for gr in groups) == 3  # nothing else grouped


def test_short_texts_near_copies_use_character_shingles():
    texts = [
        "The new cycle lane on Station Road is dangerous for pedestrians at night.",
        "The new cycle lane on Station Road is dangerous for pedestrians at night time.",
        "Parking on the high street should be free for the first hour on Saturdays.",
    ]
    groups = find_groups(texts)
    assert [g.members for g in groups] == [[0, 1]]
    assert groups[0].kind == "near"


def test_campaign_with_personal_sentences_is_a_campaign():
    rnd = random.Random(5)
    template = " ".join(_words(rnd, 150))
    texts = _varied(rnd, 60)
    members = []
    for i in range(12):
        parts = [f"Dear council, my name is {_words(rnd, 1)[0]} and I live in ward {i}."]
        if i % 3 != 1:
            parts.append(" ".join(_words(rnd, rnd.randint(15, 50))) + ".")
        parts.append(template)
        if i % 3 != 0:
            parts.append(" ".join(_words(rnd, rnd.randint(15, 50))) + ".")
        members.append(len(texts))
        texts.append(" ".join(parts))
    groups = find_groups(texts)
    g = _group_of(groups, members[0])
    assert g is not None
    assert g.kind == "campaign"
    assert g.members == members
    assert sum(gr.size for gr in groups) == len(members)


def test_small_form_letter_group_is_not_a_campaign():
    rnd = random.Random(6)
    template = " ".join(_words(rnd, 120))
    texts = [template + " " + " ".join(_words(rnd, 60)) for _ in range(3)]
    groups = find_groups(texts, min_campaign_size=5)
    assert all(g.kind != "campaign" for g in groups)


def test_unrelated_texts_not_grouped():
    rnd = random.Random(7)
    assert find_groups(_varied(rnd, 300)) == []


def test_short_generic_answers_only_grouped_when_identical():
    texts = ["I agree", "I agree.", "i AGREE", "I disagree", "No", "No.", "Yes", "I agree strongly"]
    groups = find_groups(texts)
    assert sorted(g.members for g in groups) == [[0, 1, 2], [4, 5]]
    assert all(g.kind == "exact" for g in groups)


def test_empty_texts_never_grouped():
    assert find_groups(["", "  ", "", "\n"]) == []


def test_deterministic_across_runs_and_stable_keys():
    rnd = random.Random(9)
    template = " ".join(_words(rnd, 100))
    texts = _varied(rnd, 50) + [template + " " + " ".join(_words(rnd, 30)) for _ in range(8)]
    texts += [texts[0], texts[1]]
    first = find_groups(texts, seed=4)
    second = find_groups(texts, seed=4)
    assert first == second
    assert len({g.key for g in first}) == len(first)
    assert all(g.canonical in g.members for g in first)


def test_groups_are_disjoint_and_at_least_two():
    rnd = random.Random(10)
    base = _varied(rnd, 30)
    texts = base + base[:10] + [t + " extra" for t in base[:10]]
    groups = find_groups(texts)
    seen: set[int] = set()
    for g in groups:
        assert g.size >= 2
        assert not seen & set(g.members)
        seen |= set(g.members)


def test_representatives_and_expand_round_trip():
    rnd = random.Random(11)
    base = _varied(rnd, 20)
    texts = base + base[:5] + ["I agree", "I agree", "No"]
    n = len(texts)
    groups = find_groups(texts)
    indices, weights = representatives(groups, n)
    assert weights.sum() == n
    assert list(indices) == sorted(set(indices.tolist()))
    owner = expand(list(indices), groups, n)
    assert len(owner) == n
    # every index maps to exactly one representative, and a representative to itself
    for i, rep in enumerate(owner):
        assert rep in indices
        g = _group_of(groups, i)
        assert rep == (g.canonical if g else i)
    for rep, w in zip(indices, weights, strict=True):
        assert owner.count(rep) == w


def test_expand_rejects_wrong_length_and_overlaps():
    groups = [Group("a", "exact", 0, [0, 1])]
    with pytest.raises(ValueError):
        expand(["x"], groups, 3)
    with pytest.raises(ValueError):
        representatives([Group("a", "exact", 0, [0, 1]), Group("b", "exact", 1, [1, 2])], 3)


def test_summarise_groups():
    groups = [
        Group("a", "exact", 0, [0, 1]),
        Group("b", "campaign", 2, [2, 3, 4, 5, 6]),
        Group("c", "near", 7, [7, 8]),
    ]
    s = summarise_groups(groups, 20)
    assert s["exact_groups"] == 1 and s["exact_members"] == 2
    assert s["campaign_groups"] == 1 and s["campaign_members"] == 5
    assert s["near_groups"] == 1 and s["near_members"] == 2
    assert s["texts_in_groups"] == 9
    assert s["share_in_groups"] == pytest.approx(0.45)
    assert s["n_representatives"] == 14
    assert s["largest_group"] == 5


def test_a_form_letter_sent_verbatim_is_a_campaign_and_short_answers_are_not():
    rnd = random.Random(8)
    letter = " ".join(_words(rnd, 40)) + "."
    texts = _varied(rnd, 30) + [letter] * 12 + ["Yes"] * 40 + ["No comment."] * 25
    groups = find_groups(texts)
    kinds = {texts[g.canonical]: g.kind for g in groups}
    assert kinds[letter] == "campaign"
    assert kinds["Yes"] == "exact" and kinds["No comment."] == "exact"
    # fewer copies than a campaign needs: a group, not a campaign
    few = find_groups(_varied(rnd, 30) + [letter] * 6)
    assert [g.kind for g in few if len(g.members) == 6] == ["exact"]
