"""A theme of one side keeps its side in the store, and a codebook taken from it keeps it:
the mapper reads it as a codebook's position column."""

from __future__ import annotations

from heard.analysis.labels import label_side, side_label
from heard.analysis.mapping import theme_side
from heard.pipeline.analysis import codebook_from
from heard.store.models import Theme


def test_a_codebook_from_sided_themes_keeps_their_sides(own, other):
    charges, trade = own.themes["charges"], own.themes["trade"]
    for theme, side in ((charges, 1), (trade, -1)):
        theme.label, theme.side = side_label(theme.label, side, "de"), side
        theme.save()
    specs = {s.key: s for s in codebook_from("own", list(other.consultation.questions.filter(
        kind="open")))["q1_why"]}
    assert (specs["charges"].side, specs["trade"].side, specs["cost"].side) == (1, -1, 0)
    # the mapper takes the side from the description, as from a codebook's position column
    assert [theme_side(specs[k]) for k in ("charges", "trade", "cost", "safety")] == [1, -1, 0, 0]
    # whatever language the label names the side in, the words are kept
    assert label_side(specs["trade"].label) == (-1, "Local trade")
    assert specs["charges"].parent == "cost"
    # taken again from a copy, a side is not written twice
    Theme.objects.filter(pk=charges.pk).update(description=specs["charges"].description)
    again = {s.key: s for s in codebook_from("own", list(other.consultation.questions.filter(
        kind="open")))["q1_why"]}
    assert again["charges"].description == specs["charges"].description

