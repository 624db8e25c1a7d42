"""Where the LLM improves the offline results of one question (which stay the base).

Stages, in order, each optional:

1. ``labels``: a label and description per theme, written from its key phrases and a few
   representative responses (never every response);
2. ``condense``: merge duplicate themes and split themes that mix support and opposition,
   towards a target count;
3. ``mapping``: a cascade; only responses whose offline confidence falls in the uncertain
   band (and, by choice, those left in "Other") go to the LLM, optionally with stance and
   evidence;
4. ``summaries``: per theme and for the question, citing responses; each quote is checked
   to be an exact substring of the response it cites, and dropped (and counted) otherwise.

Everything here works on plain data. Responses are PII-redacted and screened for injection
before any prompt is built; flagged responses go alone in their own batch. Every response
sent for mapping gets an outcome in the ledger, and failures keep their offline result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from heard.analysis.labels import label_side, side_label, side_language
from heard.llm import prompts
from heard.llm.budget import (
    MESSAGE_OVERHEAD,
    Estimate,
    Ledger,
    count_tokens,
    pack_batches,
    truncate_to_tokens,
)
from heard.llm.config import LLMConfig
from heard.llm.injection import detect_injection
from heard.llm.providers import (
    ContextTooLong,
    LLMClient,
    LLMError,
    MalformedOutput,
    OutputTruncated,
)
from heard.llm.schemas import SCHEMAS
from heard.privacy.redaction import redact

__all__ = ["EnhanceOptions", "EnhanceResult", "ItemIn", "QuestionInput", "ThemeIn",
           "enhance", "estimate", "prepare_items"]

SPECIAL_KEYS = ("other", "empty")
# Expected completion tokens, for estimates only.
COMPLETION_PER = {"labels": 70, "condense": 30, "mapping": 18, "mapping_stance": 28,
                  "summary": 170, "question_summary": 250}


@dataclass
class ThemeIn:
    """A theme as the offline analysis left it."""

    key: str
    label: str
    description: str = ""
    key_phrases: list[str] = field(default_factory=list)
    parent: str | None = None
    is_leaf: bool = True
    merged_from: list[str] = field(default_factory=list)
    side: int = 0  # a theme of one side's answers: +1 supporters, -1 opponents


@dataclass
class ItemIn:
    """A substantive response with its offline result."""

    id: str
    text: str
    themes: list[str]
    confidence: float | None
    stance: str = ""
    evidence_rich: bool | None = None


@dataclass
class QuestionInput:
    question: str
    themes: list[ThemeIn]
    items: list[ItemIn]


@dataclass
class EnhanceOptions:
    """Which stages run and their knobs."""

    labels: bool = True
    condense: bool = True
    target_themes: int = 12
    mapping: bool = True
    stance: bool = False
    include_other: bool = True
    max_share: float = 0.1  # at most this share of responses goes to the mapping cascade
    summaries: bool = True
    samples_per_theme: int = 4
    summary_samples: int = 6
    sample_tokens: int = 120


@dataclass
class MapResult:
    themes: list[str]
    stance: str | None = None
    evidence_rich: bool | None = None


@dataclass
class EnhanceResult:
    """Final themes, the LLM's mapping of the uncertain responses, summaries, and the ledger."""

    themes: list[ThemeIn]
    item_themes: dict[str, list[str]]  # every item's final themes (after merges and mapping)
    mapped: dict[str, MapResult]       # the items the LLM settled
    summaries: dict[str, dict[str, Any]]  # theme key (or "" for the question) → summary
    ledger: Ledger


@dataclass
class _Prepared:
    """Texts as the LLM may see them: redacted, truncated, and screened."""

    text: dict[str, str]
    flags: dict[str, list[str]]


def prepare_items(
    items: Sequence[ItemIn], config: LLMConfig, ledger: Ledger
) -> _Prepared:
    """Redact (unless turned off), truncate over-long responses, and flag injection."""
    text: dict[str, str] = {}
    flags: dict[str, list[str]] = {}
    for item in items:
        t = item.text
        if config.redact:
            r = redact(t)
            ledger.redaction.update(r.counts)
            t = r.text
        t, cut = truncate_to_tokens(t, config.max_response_tokens)
        if cut:
            ledger.notes.append(
                f"response {item.id} truncated to {config.max_response_tokens} tokens"
            )
        found = detect_injection(item.text)
        if found:
            flags[item.id] = found
            ledger.injection_flags.append({"id": item.id, "kinds": found})
        text[item.id] = t
    return _Prepared(text, flags)


# ---------------------------------------------------------------- helpers


def _leaves(themes: Sequence[ThemeIn]) -> list[ThemeIn]:
    return [t for t in themes if t.is_leaf and t.key not in SPECIAL_KEYS]


def _samples(
    key: str, items: Sequence[ItemIn], prepared: _Prepared, n: int, tokens: int
) -> list[tuple[str, str]]:
    """The ``n`` most confident members of a theme (flagged ones excluded), shortened."""
    members = [i for i in items if key in i.themes and i.id not in prepared.flags]
    members.sort(key=lambda i: -(i.confidence or 0.0))
    seen: set[str] = set()
    out = []
    for item in members:
        text = prepared.text[item.id]
        if text in seen:
            continue
        seen.add(text)
        out.append((item.id, truncate_to_tokens(text, tokens)[0]))
        if len(out) >= n:
            break
    return out


def _prompt_tokens(user: str, schema_name: str | None = None) -> int:
    """Estimated prompt tokens of one call; the schema is sent with it (either as a
    response format or a tool, or appended to the prompt) and counts too."""
    tokens = count_tokens(prompts.SYSTEM) + count_tokens(user) + 2 * MESSAGE_OVERHEAD
    if schema_name:
        import json

        from heard.llm.providers import _wire_schema

        tokens += count_tokens(json.dumps(_wire_schema(SCHEMAS[schema_name])))
    return tokens


def _batches_by_tokens(
    payloads: Sequence[Any], config: LLMConfig, fixed: int
) -> list[list[int]]:
    import json

    costs = [count_tokens(json.dumps(p, ensure_ascii=False)) + 1 for p in payloads]
    budget = max(config.batch_prompt_tokens - fixed, 1)
    return pack_batches(costs, budget=budget, max_items=config.max_items_per_batch)


# ---------------------------------------------------------------- stage builders


def _label_payloads(
    data: QuestionInput, prepared: _Prepared, options: EnhanceOptions
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """One payload per theme, and the ids of the responses sampled into each."""
    out = []
    ids: list[list[str]] = []
    for t in data.themes:
        if t.key in SPECIAL_KEYS:
            continue
        if t.is_leaf:
            keys = {t.key}
        else:
            keys = {c.key for c in data.themes if c.parent == t.key}
        samples = []
        for k in sorted(keys):
            samples += _samples(k, data.items, prepared, options.samples_per_theme,
                                options.sample_tokens)
        kept = samples[: options.samples_per_theme]
        out.append({
            "key": t.key,
            "key_phrases": t.key_phrases[:10],
            "samples": [s for _, s in kept],
        })
        ids.append([rid for rid, _ in kept])
    return out, ids


def _condense_payload(data: QuestionInput) -> list[dict[str, Any]]:
    counts = {t.key: 0 for t in data.themes}
    for item in data.items:
        for k in item.themes:
            if k in counts:
                counts[k] += 1
    return [
        {"key": t.key, "label": t.label, "description": t.description[:300],
         "count": counts[t.key]}
        for t in _leaves(data.themes)
    ]


def _uncertain(
    data: QuestionInput, band: tuple[float, float], include_other: bool, max_share: float
) -> list[ItemIn]:
    """Responses for the cascade: confidence inside the band (nearest its centre first), then
    "Other" ones; at most ``max_share`` of the question's responses, so cost stays bounded
    whatever the offline confidences look like."""
    low, high = band
    centre = (low + high) / 2
    inside = [i for i in data.items
              if i.themes and i.confidence is not None and low <= i.confidence <= high]
    inside.sort(key=lambda i: abs(i.confidence - centre))
    other = [i for i in data.items if not i.themes] if include_other else []
    limit = max(1, math.ceil(max_share * len(data.items))) if data.items else 0
    return (inside + other)[:limit]


def _theme_catalogue(data: QuestionInput) -> list[dict[str, str]]:
    return [
        {"key": t.key, "label": t.label, "description": t.description[:240]}
        for t in _leaves(data.themes)
    ]


# ---------------------------------------------------------------- estimate


def estimate(
    data: QuestionInput,
    config: LLMConfig,
    options: EnhanceOptions,
) -> Estimate:
    """Calls, tokens and cost the stages would use, computed without calling the LLM."""
    est = Estimate(currency=config.price.currency)
    scratch = Ledger()
    prepared = prepare_items(data.items, config, scratch)
    price = config.price
    if options.labels:
        payloads, _ = _label_payloads(data, prepared, options)
        fixed = _prompt_tokens(prompts.labels_prompt(data.question, []))
        for batch in _batches_by_tokens(payloads, config, fixed):
            user = prompts.labels_prompt(data.question, [payloads[i] for i in batch])
            est.add(1, _prompt_tokens(user, "heard_labels"),
                    COMPLETION_PER["labels"] * len(batch), price)
    if options.condense and len(_leaves(data.themes)) > 1:
        user = prompts.condense_prompt(data.question, _condense_payload(data),
                                       options.target_themes)
        est.add(1, _prompt_tokens(user, "heard_condense"),
                COMPLETION_PER["condense"] * len(_leaves(data.themes)), price)
    if options.mapping:
        for user, n in _mapping_plan(data, prepared, config, options):
            per = COMPLETION_PER["mapping_stance" if options.stance else "mapping"]
            est.add(1, _prompt_tokens(user, "heard_mapping"), per * n, price)
    if options.summaries:
        for user, n in _summary_plan(data, prepared, config, options):
            est.add(1, _prompt_tokens(user, "heard_summary"), COMPLETION_PER["summary"] * n,
                    price)
        est.add(1, _prompt_tokens(_question_summary_prompt(data, prepared, options, {})[0],
                                  "heard_question_summary"),
                COMPLETION_PER["question_summary"], price)
    if scratch.injection_flags:
        est.notes.append(f"{len(scratch.injection_flags)} response(s) flagged for injection")
    return est


# ---------------------------------------------------------------- mapping


def _dedupe(items: Sequence[ItemIn], prepared: _Prepared) -> dict[str, list[str]]:
    """Representative id → ids of items whose prepared text is identical."""
    first: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for item in items:
        text = prepared.text[item.id]
        rep = first.setdefault(text, item.id)
        groups.setdefault(rep, []).append(item.id)
    return groups


def _mapping_batches(
    reps: Sequence[str], prepared: _Prepared, config: LLMConfig, fixed: int
) -> list[list[str]]:
    clean = [r for r in reps if r not in prepared.flags]
    payloads = [{"id": "0000", "text": prepared.text[r]} for r in clean]
    batches = [[clean[i] for i in b] for b in _batches_by_tokens(payloads, config, fixed)]
    # A flagged response goes alone: whatever it makes a model do stays in its own answer.
    batches += [[r] for r in reps if r in prepared.flags]
    return batches


def _mapping_user(data: QuestionInput, ids: Sequence[str], prepared: _Prepared,
                  options: EnhanceOptions) -> tuple[str, dict[str, str]]:
    alias = {str(n + 1): rid for n, rid in enumerate(ids)}
    responses = [{"id": a, "text": prepared.text[rid]} for a, rid in alias.items()]
    user = prompts.mapping_prompt(data.question, _theme_catalogue(data), responses,
                                  with_stance=options.stance)
    return user, alias


def _mapping_plan(data, prepared, config, options) -> list[tuple[str, int]]:
    band = config.uncertain_band
    candidates = _uncertain(data, band, options.include_other, options.max_share)
    groups = _dedupe(candidates, prepared)
    fixed = _prompt_tokens(_mapping_user(data, [], prepared, options)[0])
    out = []
    for batch in _mapping_batches(list(groups), prepared, config, fixed):
        out.append((_mapping_user(data, batch, prepared, options)[0], len(batch)))
    return out


def _run_mapping(
    data: QuestionInput,
    prepared: _Prepared,
    client: LLMClient,
    options: EnhanceOptions,
) -> dict[str, MapResult]:
    ledger = client.ledger
    candidates = _uncertain(data, client.config.uncertain_band, options.include_other,
                            options.max_share)
    groups = _dedupe(candidates, prepared)
    known = {t.key for t in _leaves(data.themes)}
    fixed = _prompt_tokens(_mapping_user(data, [], prepared, options)[0])
    results: dict[str, MapResult] = {}

    def settle(rep: str, outcome: str, reason: str = "") -> None:
        for member in groups[rep]:
            ledger.outcomes[outcome] += 1
            if outcome != "llm":
                ledger.fail(member, "mapping", reason)

    def run_batch(ids: list[str], shrink: int = 0) -> None:
        if not client.budget_left():
            for rep in ids:
                settle(rep, "budget", "budget reached; offline result kept")
            return
        user, alias = _mapping_user(data, ids, prepared, options)
        for rep in ids:  # identical copies share the text that goes out
            ledger.mark_sent(groups[rep])
        try:
            answer = client.call(
                "mapping", prompts.SYSTEM, user, "heard_mapping", SCHEMAS["heard_mapping"],
                items=len(ids),
                max_tokens=min(client.config.max_output_tokens,
                               64 + COMPLETION_PER["mapping_stance"] * 2 * len(ids)),
            )
        except (ContextTooLong, OutputTruncated) as exc:
            if len(ids) > 1:
                half = len(ids) // 2
                run_batch(ids[:half])
                run_batch(ids[half:])
                return
            if shrink < 2:
                rid = ids[0]
                cut, _ = truncate_to_tokens(prepared.text[rid],
                                            max(client.config.max_response_tokens >> (shrink + 1),
                                                16))
                prepared.text[rid] = cut
                ledger.notes.append(f"response {rid} truncated further after: {exc}")
                run_batch(ids, shrink + 1)
                return
            settle(ids[0], "offline", f"too long for the model: {exc}")
            return
        except (MalformedOutput, LLMError) as exc:
            for rep in ids:
                settle(rep, "offline", f"LLM failed ({exc}); offline result kept")
            return
        got: dict[str, dict[str, Any]] = {}
        for row in answer["items"]:
            rid = alias.get(str(row["id"]).strip())
            if rid is not None and rid not in got:
                got[rid] = row
        for rid in ids:
            row = got.get(rid)
            if row is None:
                settle(rid, "offline", "missing from the LLM's answer; offline result kept")
                continue
            themes = [k for k in dict.fromkeys(row["themes"]) if k in known]
            unknown = [k for k in row["themes"] if k not in known]
            if unknown and not themes:
                settle(rid, "offline", f"LLM gave unknown theme(s) {unknown[:3]}; kept offline")
                continue
            if unknown:
                ledger.notes.append(f"response {rid}: unknown theme(s) {unknown[:3]} ignored")
            res = MapResult(
                themes=themes,
                stance=row["stance"] if options.stance else None,
                evidence_rich=bool(row["evidence_rich"]) if options.stance else None,
            )
            for member in groups[rid]:
                results[member] = res
            settle(rid, "llm")

    fixed_batches = _mapping_batches(list(groups), prepared, client.config, fixed)
    for batch in fixed_batches:
        run_batch(batch)
    return results


# ---------------------------------------------------------------- summaries


def _summary_payloads(data, prepared, options, alias_of: dict[str, str]):
    payloads = []
    counts = {t.key: sum(1 for i in data.items if t.key in i.themes) for t in data.themes}
    for t in _leaves(data.themes):
        samples = _samples(t.key, data.items, prepared, options.summary_samples,
                           options.sample_tokens)
        responses = []
        for rid, text in samples:
            alias = alias_of.setdefault(rid, str(len(alias_of) + 1))
            responses.append({"id": alias, "text": text})
        payloads.append({"key": t.key, "label": t.label, "count": counts[t.key],
                         "responses": responses})
    return payloads


def _summary_plan(data, prepared, config, options) -> list[tuple[str, int]]:
    alias_of: dict[str, str] = {}
    payloads = _summary_payloads(data, prepared, options, alias_of)
    fixed = _prompt_tokens(prompts.summary_prompt(data.question, []))
    return [
        (prompts.summary_prompt(data.question, [payloads[i] for i in b]), len(b))
        for b in _batches_by_tokens(payloads, config, fixed)
    ]


def _question_summary_prompt(data, prepared, options, theme_summaries):
    alias_of: dict[str, str] = {}
    counts = {t.key: sum(1 for i in data.items if t.key in i.themes) for t in data.themes}
    rows = []
    for t in _leaves(data.themes):
        samples = _samples(t.key, data.items, prepared, 2, options.sample_tokens)
        rows.append({
            "key": t.key,
            "label": t.label,
            "count": counts[t.key],
            "summary": (theme_summaries.get(t.key) or {}).get("summary", ""),
            "responses": [
                {"id": alias_of.setdefault(rid, str(len(alias_of) + 1)), "text": text}
                for rid, text in samples
            ],
        })
    user = prompts.summary_prompt(data.question, rows).replace(
        "For each theme, write", "Using the themes below, write"
    )
    return user, alias_of


def check_quotes(
    quotes: Sequence[dict[str, Any]],
    alias: dict[str, str],
    originals: dict[str, str],
    shown: dict[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Keep quotes that are exact substrings of the cited response; report the others.

    A quote must appear in the text the model was shown and in the original response
    (so one that includes a redaction placeholder is dropped as unverifiable).
    """
    kept, dropped = [], []
    for q in quotes:
        rid = alias.get(str(q.get("id", "")).strip())
        text = str(q.get("text", "")).strip().strip('"“”')
        if rid is None:
            dropped.append({"id": q.get("id"), "text": text, "reason": "unknown response id"})
        elif len(text) < 3 or text not in shown.get(rid, ""):
            dropped.append({"id": rid, "text": text, "reason": "not an exact substring"})
        elif text not in originals.get(rid, ""):
            dropped.append({"id": rid, "text": text, "reason": "contains redacted text"})
        else:
            kept.append({"response_id": rid, "text": text})
    return kept, dropped


def _run_summaries(data, prepared, client, options) -> dict[str, dict[str, Any]]:
    ledger = client.ledger
    originals = {i.id: i.text for i in data.items}
    out: dict[str, dict[str, Any]] = {}
    alias_of: dict[str, str] = {}
    payloads = _summary_payloads(data, prepared, options, alias_of)
    alias = {a: rid for rid, a in alias_of.items()}
    fixed = _prompt_tokens(prompts.summary_prompt(data.question, []))
    dropped_total = 0
    for batch in _batches_by_tokens(payloads, client.config, fixed):
        if not client.budget_left():
            ledger.notes.append("summaries skipped: budget reached")
            break
        chunk = [payloads[i] for i in batch]
        ledger.mark_sent([alias[r["id"]] for p in chunk for r in p["responses"]])
        try:
            answer = client.call("summary", prompts.SYSTEM,
                                 prompts.summary_prompt(data.question, chunk),
                                 "heard_summary", SCHEMAS["heard_summary"], items=len(chunk))
        except LLMError as exc:
            for p in chunk:
                ledger.fail(p["key"], "summary", str(exc)[:200])
            continue
        asked = {p["key"] for p in chunk}
        for row in answer["themes"]:
            if row["key"] not in asked or row["key"] in out:
                continue
            kept, dropped = check_quotes(row["quotes"], alias, originals, prepared.text)
            dropped_total += len(dropped)
            out[row["key"]] = {"summary": row["summary"].strip(), "quotes": kept,
                               "dropped_quotes": dropped}
    if client.budget_left():
        user, q_alias_of = _question_summary_prompt(data, prepared, options, out)
        q_alias = {a: rid for rid, a in q_alias_of.items()}
        ledger.mark_sent(list(q_alias_of))
        try:
            answer = client.call("question_summary", prompts.SYSTEM, user,
                                 "heard_question_summary", SCHEMAS["heard_question_summary"])
            kept, dropped = check_quotes(answer["quotes"], q_alias, originals, prepared.text)
            dropped_total += len(dropped)
            out[""] = {"summary": answer["summary"].strip(), "quotes": kept,
                       "dropped_quotes": dropped}
        except LLMError as exc:
            ledger.fail("(question)", "question_summary", str(exc)[:200])
    ledger.stages["summaries"] = {"themes": len([k for k in out if k]),
                                  "quotes_dropped": dropped_total}
    return out


# ---------------------------------------------------------------- labels and condensing


def _run_labels(data, prepared, client, options) -> int:
    payloads, sample_ids = _label_payloads(data, prepared, options)
    by_key = {t.key: t for t in data.themes}
    fixed = _prompt_tokens(prompts.labels_prompt(data.question, []))
    changed = 0
    for batch in _batches_by_tokens(payloads, client.config, fixed):
        if not client.budget_left():
            ledger_note(client.ledger, "labels skipped: budget reached")
            break
        chunk = [payloads[i] for i in batch]
        for i in batch:
            client.ledger.mark_sent(sample_ids[i])
        try:
            answer = client.call("labels", prompts.SYSTEM,
                                 prompts.labels_prompt(data.question, chunk),
                                 "heard_labels", SCHEMAS["heard_labels"], items=len(chunk))
        except LLMError as exc:
            for p in chunk:
                client.ledger.fail(p["key"], "labels", f"{exc}"[:200] + "; offline label kept")
            continue
        asked = {p["key"] for p in chunk}
        for row in answer["themes"]:
            theme = by_key.get(row["key"])
            label = " ".join(row["label"].split())
            if theme is None or row["key"] not in asked or not label:
                continue
            # a theme of one side keeps saying whose side it holds
            side = theme.side or label_side(theme.label)[0]
            theme.label = side_label(label, side, side_language(theme.label))[:200]
            theme.description = " ".join(row["description"].split())
            changed += 1
    client.ledger.stages["labels"] = {"themes": len(payloads), "relabelled": changed}
    return changed


def ledger_note(ledger: Ledger, note: str) -> None:
    if note not in ledger.notes:
        ledger.notes.append(note)


def _run_condense(data: QuestionInput, client: LLMClient, options: EnhanceOptions) -> None:
    leaves = _leaves(data.themes)
    if len(leaves) < 2:
        return
    user = prompts.condense_prompt(data.question, _condense_payload(data),
                                   options.target_themes)
    try:
        answer = client.call("condense", prompts.SYSTEM, user, "heard_condense",
                             SCHEMAS["heard_condense"], items=len(leaves))
    except LLMError as exc:
        client.ledger.fail("(themes)", "condense", f"{exc}"[:200] + "; themes kept")
        return
    known = {t.key for t in leaves}
    used: set[str] = set()
    rename: dict[str, str] = {}
    merges = 0
    by_key = {t.key: t for t in data.themes}
    for group in answer["merges"]:
        keys = [k for k in dict.fromkeys(group["keys"]) if k in known and k not in used]
        if len(keys) < 2:
            continue
        used.update(keys)
        keep = by_key[keys[0]]
        keep.label = " ".join(group["label"].split())[:200] or keep.label
        keep.description = " ".join(group["description"].split()) or keep.description
        keep.merged_from = keys[1:]
        for k in keys[1:]:
            rename[k] = keep.key
        merges += 1
    if rename:
        data.themes = [t for t in data.themes if t.key not in rename]
        for item in data.items:
            item.themes = list(dict.fromkeys(rename.get(k, k) for k in item.themes))
    splits = 0
    for key in dict.fromkeys(answer["split_by_stance"]):
        theme = by_key.get(rename.get(key, key))
        if theme is None or theme.key not in known:
            continue
        members = [i for i in data.items if theme.key in i.themes]
        agree = [i for i in members if i.stance == "agree"]
        disagree = [i for i in members if i.stance == "disagree"]
        if not agree or not disagree:
            continue
        for suffix, who, group_items in (("support", "agree", agree),
                                         ("oppose", "disagree", disagree)):
            new_key = f"{theme.key}-{suffix}"
            data.themes.append(ThemeIn(
                key=new_key,
                label=side_label(theme.label, 1 if who == "agree" else -1)[:200],
                description=theme.description,
                key_phrases=list(theme.key_phrases),
                parent=theme.parent,
                side=1 if who == "agree" else -1,
            ))
            for item in group_items:
                item.themes = [new_key if k == theme.key else k for k in item.themes]
        splits += 1
    client.ledger.stages["condense"] = {"merges": merges, "merged_away": len(rename),
                                        "splits": splits}


# ---------------------------------------------------------------- all stages


def enhance(
    data: QuestionInput,
    client: LLMClient,
    options: EnhanceOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> EnhanceResult:
    """Run the chosen stages on one question's offline results (``data`` is updated)."""
    step = progress or (lambda stage: None)
    prepared = prepare_items(data.items, client.config, client.ledger)
    if options.labels:
        step("llm labels")
        _run_labels(data, prepared, client, options)
    if options.condense:
        step("llm condense")
        _run_condense(data, client, options)
    mapped: dict[str, MapResult] = {}
    if options.mapping:
        step("llm mapping")
        mapped = _run_mapping(data, prepared, client, options)
        for item in data.items:
            if item.id in mapped:
                item.themes = list(mapped[item.id].themes)
        client.ledger.stages["mapping"] = {
            "uncertain_band": list(client.config.uncertain_band),
            "sent": sum(client.ledger.outcomes.values()),
            "settled": len(mapped),
        }
    summaries: dict[str, dict[str, Any]] = {}
    if options.summaries:
        step("llm summaries")
        summaries = _run_summaries(data, prepared, client, options)
    return EnhanceResult(
        themes=data.themes,
        item_themes={i.id: list(i.themes) for i in data.items},
        mapped=mapped,
        summaries=summaries,
        ledger=client.ledger,
    )
