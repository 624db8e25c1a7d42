import pytest

from heard.store.bulk import bulk_update_rows
from heard.store.models import Consultation, DuplicateGroup, Question, Respondent, Response


@pytest.mark.django_db
def test_bulk_update_rows_sets_every_field():
    c = Consultation.objects.create(name="c")
    q = Question.objects.create(consultation=c, key="q1")
    g = DuplicateGroup.objects.create(question=q, key="g", kind="exact", canonical_text="x", size=2)
    rs = Respondent.objects.create(consultation=c, key="r")
    ids = [
        Response.objects.create(question=q, respondent=rs, key=str(i), text=f"t{i}").id
        for i in range(7)
    ]
    rows = [
        (
            rid,
            "mapped" if i % 2 else "other",
            f"why {i}",
            0.1 * i,
            i % 3 == 0,
            g.id if i < 2 else None,
        )
        for i, rid in enumerate(ids)
    ]
    fields = ["outcome", "outcome_reason", "stance_confidence", "evidence_rich", "group"]
    assert bulk_update_rows(Response, fields, rows, batch_size=3) == 7
    got = {r.id: r for r in Response.objects.filter(id__in=ids)}
    for i, rid in enumerate(ids):
        r = got[rid]
        assert r.outcome == ("mapped" if i % 2 else "other")
        assert r.outcome_reason == f"why {i}"
        assert r.stance_confidence == pytest.approx(0.1 * i)
        assert r.evidence_rich is (i % 3 == 0)
        assert r.group_id == (g.id if i < 2 else None)
    # Untouched rows keep their values.
    assert Response.objects.filter(id__in=ids, text__startswith="t").count() == 7
