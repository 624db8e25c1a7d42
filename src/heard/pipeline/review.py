"""Active learning: which responses an analyst should label next."""

from __future__ import annotations

from heard.store.models import Assignment, Consultation, Question


def suggest_review(consultation: Consultation, question_key: str, count: int = 20) -> list[dict]:
    """The responses whose labels would most improve the mapping of one question."""
    from heard.analysis.analyse import _examples_for, leaf_keys
    from heard.analysis.embeddings import get_embedder
    from heard.analysis.mapping import ThemeMapper
    from heard.pipeline.analysis import (
        _human_examples,
        _spec_from_theme,
        load_question,
        run_embedder,
    )
    from heard.pipeline.embedding_cache import StoreCachedEmbedder

    try:
        question = consultation.questions.get(key=question_key, kind=Question.Kind.OPEN)
    except Question.DoesNotExist:
        raise ValueError(f"No open question {question_key!r} in {consultation.name}.") from None
    themes = list(question.themes.all())
    if not themes:
        raise ValueError(f"Question {question_key} has no themes yet: run `heard analyse` first.")
    run = consultation.runs.filter(kind="analyse").first()
    embedder = get_embedder(run_embedder(run))

    data = load_question(question)
    keep = [i for i, rid in enumerate(data.ids) if data.texts[i].strip()]
    texts = [data.texts[i] for i in keep]
    ids = [data.ids[i] for i in keep]
    embedder = StoreCachedEmbedder(embedder)  # the run's cached vectors, by content hash
    vectors = embedder.embed(texts)
    # analysts' codings (an empty one: an answer about none of the themes), read as a run
    # reads them: on leaves only, a coding naming only parent themes teaching nothing
    coded = _human_examples(question, data)
    labelled = {data.ids[i] for i in coded}
    specs = [_spec_from_theme(t) for t in themes]
    leaves = set(leaf_keys(specs))
    examples = _examples_for(coded, range(len(keep)), keep, list(leaves))
    mapper = ThemeMapper(embedder.embed, seed=run.seed if run else 0)
    mapper.fit(
        [s for s in specs if s.key in leaves],
        texts=texts,
        vectors=vectors,
        examples=examples or None,
    )
    picked = mapper.suggest_review(texts, vectors, n=count + len(examples))
    current: dict[int, list[str]] = {}
    for rid, key in Assignment.objects.filter(theme__question=question, is_active=True).values_list(
        "response_id", "theme__key"
    ):
        current.setdefault(rid, []).append(key)
    out = []
    for pos in picked:
        rid = ids[int(pos)]
        if rid in labelled:
            continue
        out.append(
            {
                "response_id": data.keys[keep[int(pos)]] or rid,
                "id": rid,
                "themes": current.get(rid, []),
                "text": texts[int(pos)],
            }
        )
        if len(out) >= count:
            break
    return out
