"""Active learning: which responses an analyst should label next."""

from __future__ import annotations

from heard.store.models import Assignment, Consultation, Question


def suggest_review(consultation: Consultation, question_key: str, count: int = 20) -> list[dict]:
    """The responses whose labels would most improve the mapping of one question."""
    from heard.analysis.analyse import leaf_keys
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
    # analysts' codings, by response id
    labelled = {data.ids[i]: keys for i, keys in _human_examples(question, data).items()}
    specs = [_spec_from_theme(t) for t in themes]
    leaves = set(leaf_keys(specs))  # responses are mapped to leaves only, as in a run
    position = {rid: pos for pos, rid in enumerate(ids)}
    # an empty coding is an answer about none of the themes (an example with no theme);
    # one naming only parent themes teaches nothing
    examples = [(position[rid], [k for k in keys if k in leaves])
                for rid, keys in labelled.items()
                if rid in position and (not keys or leaves.intersection(keys))]
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
