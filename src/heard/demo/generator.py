"""A realistic demo consultation, written in Heard's evaluation layout.

The consultation is fictional: Harbourside Borough Council asks whether the Millbrook
low traffic neighbourhood (LTN), run for eighteen months as a trial, should be made
permanent. Four questions:

- ``q1`` (closed): agree / disagree that the scheme should be made permanent;
- ``q2`` (open): "Please explain why you gave this answer." (follows ``q1``);
- ``q3`` (open): how the trial affected the respondent;
- ``q4`` (open): what should change.

``n_respondents`` is the number of respondents. Every respondent gets exactly one row
per question in ``responses.csv`` (so it holds ``4 * n_respondents`` rows, grouped by
question), and all of a respondent's rows share its ``response_id`` and its attribute
columns. Unanswered questions are rows with empty text.

Answers are composed from per-theme pools of argument fragments with openers, hedges,
connectors, personal details, closers, typos and junk, and two organised campaigns copy
form letters with personal edits. The gold files record what was actually written:

- ``gold_themes.csv``: the themes whose fragments were written into each open answer;
- ``gold_stance.csv``: the respondent's position (``agree`` / ``disagree``) when the answer
  states it (a stance opener or a theme of that side), else ``unclear``;
- ``gold_evidence_rich.csv``: ``YES`` exactly when an evidence fragment was inserted (a
  figure, a named source or a first-hand account with specifics). Other fragments never
  contain digits;
- ``gold_campaigns.csv``: one row per campaign answer (response and question), with its campaign.

Generation streams: one respondent at a time is built, its rows go to per-question part
files, and the parts are joined at the end. Memory stays flat and output is the same
bytes for the same ``n_respondents``, ``seed`` and options.

The phrase tables (questions, themes with their fragments, openers, closers, names, places,
campaign letters) are data: ``phrases.json`` beside this module. This module holds only
how answers are composed from them.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import IO, Any, TypeVar

_T = TypeVar("_T")


AGREE, DISAGREE, UNCLEAR = "agree", "disagree", "unclear"
MIXED = "mixed"  # a respondent who weighs both sides; their answers are "unclear"


@dataclass(frozen=True)
class Theme:
    """One codebook theme with the fragments the generator writes for it."""

    key: str
    label: str
    description: str
    position: str  # "Agreement" | "Disagreement" | "Neutral"
    fragments: tuple[str, ...]
    short: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    single: bool = False  # fragments may contradict each other: write one only
    exclusive: bool = False  # never combined with other themes in one answer
    side: str | None = field(init=False, default=None)  # AGREE, DISAGREE or None

    def __post_init__(self) -> None:
        side = {"Agreement": AGREE, "Disagreement": DISAGREE}.get(self.position)
        object.__setattr__(self, "side", side)



@dataclass(frozen=True)
class Campaign:
    """An organised campaign: a form letter per question, with themes per sentence."""

    key: str
    stance: str
    share: float  # chance that an individual respondent is a member
    letters: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
    swaps: tuple[tuple[str, str], ...]  # wording members commonly change


# --------------------------------------------------------------------------------------
# The consultation: phrase tables from phrases.json
# --------------------------------------------------------------------------------------


def _tuples(value: Any) -> Any:
    """JSON lists as tuples, all the way down (the tables are immutable)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def load_phrases() -> dict[str, Any]:
    """The demo's phrase tables, as stored in the package's ``phrases.json``."""
    text = files("heard.demo").joinpath("phrases.json").read_text(encoding="utf-8")
    return _tuples(json.loads(text))


_PHRASES = load_phrases()

TITLE: str = _PHRASES["title"]
CLOSED_OPTIONS: tuple[str, ...] = _PHRASES["closed_options"]
QUESTIONS: tuple[tuple[str, str], ...] = tuple((q["id"], q["text"]) for q in _PHRASES["questions"])
OPEN_QUESTIONS: tuple[str, ...] = _PHRASES["open_questions"]
# Respondent attribute columns, in order (header text as a survey export would have it).
ATTRIBUTE_COLUMNS: tuple[str, ...] = tuple(_PHRASES["attribute_columns"].values())

THEMES: dict[str, tuple[Theme, ...]] = {
    qid: tuple(Theme(**theme) for theme in themes) for qid, themes in _PHRASES["themes"].items()
}
THEME_BY_KEY: dict[str, Theme] = {t.key: t for ts in THEMES.values() for t in ts}

# Openers that state a position, per question and stance.
OPENERS: dict[str, dict[str, tuple[str, ...]]] = _PHRASES["openers"]
CLOSERS: dict[str, tuple[str, ...]] = _PHRASES["closers"]
HEDGES: tuple[str, ...] = _PHRASES["hedges"]
# Suggestions are mostly imperative, so they take their own softeners.
SUGGESTION_HEDGES: tuple[str, ...] = _PHRASES["suggestion_hedges"]
CONNECTORS: tuple[str, ...] = _PHRASES["connectors"]
PERSONAL: tuple[str, ...] = _PHRASES["personal"]
JUNK: tuple[str, ...] = _PHRASES["junk"]
MISSPELLINGS: dict[str, str] = _PHRASES["misspellings"]

# Places and people.
STREETS_INSIDE: tuple[str, ...] = _PHRASES["streets_inside"]
STREETS_BOUNDARY: tuple[str, ...] = _PHRASES["streets_boundary"]
STREETS_ELSEWHERE: tuple[str, ...] = _PHRASES["streets_elsewhere"]
WARDS: tuple[str, ...] = _PHRASES["wards"]
WHERE: tuple[str, ...] = _PHRASES["where"]
AGES: tuple[str, ...] = _PHRASES["ages"]
AGE_WEIGHTS: tuple[float, ...] = _PHRASES["age_weights"]
FIRST_NAMES: tuple[str, ...] = _PHRASES["first_names"]
LAST_NAMES: tuple[str, ...] = _PHRASES["last_names"]

# Organisation name patterns and how often each kind agrees with the proposal.
ORG_KINDS: tuple[tuple[str, float], ...] = tuple(
    (kind["pattern"], kind["agree"]) for kind in _PHRASES["org_kinds"]
)
ORG_PLACES: tuple[str, ...] = _PHRASES["org_places"]
# Organisations state their position in q2; their other answers open neutrally.
ORG_FOLLOW_OPENERS: dict[str, tuple[str, ...]] = _PHRASES["org_follow_openers"]
ORG_OPENERS: dict[str, tuple[str, ...]] = _PHRASES["org_openers"]

# Stance chances per "where do you live" answer: (agree, disagree); the rest is mixed.
STANCE_BY_WHERE: dict[str, tuple[float, float]] = {
    where: (p["agree"], p["disagree"]) for where, p in _PHRASES["stance_by_where"].items()
}
CLOSED_BY_STANCE: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    stance: (c["options"], c["weights"]) for stance, c in _PHRASES["closed_by_stance"].items()
}
CAMPAIGNS: tuple[Campaign, ...] = tuple(
    Campaign(
        c["key"],
        c["stance"],
        c["share"],
        {qid: tuple((s["text"], s["themes"]) for s in letter)
         for qid, letter in c["letters"].items()},
        c["swaps"],
    )
    for c in _PHRASES["campaigns"]
)


@dataclass(frozen=True)
class SampleOptions:
    """Rates that shape the sample; the defaults give a typical consultation."""

    organisation_share: float = 0.03
    empty_rate: tuple[float, float, float] = (0.03, 0.12, 0.25)  # q2, q3, q4
    junk_rate: tuple[float, float, float] = (0.03, 0.04, 0.05)
    closed_blank_rate: float = 0.01
    evidence_rate: float = 0.05  # individuals; organisations use organisation_evidence_rate
    organisation_evidence_rate: float = 0.35
    short_rate: float = 0.2
    typo_rate: float = 0.12
    campaigns: tuple[Campaign, ...] = CAMPAIGNS


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    """One row of responses.csv, with what the generator knows about it."""

    question_id: str
    text: str
    themes: tuple[str, ...] = ()
    stance: str = UNCLEAR
    evidence: bool = False
    kind: str = "answer"  # "answer" | "closed" | "empty" | "junk" | "campaign"


@dataclass(slots=True)
class Respondent:
    """One respondent: its id, attribute values (in ATTRIBUTE_COLUMNS order) and answers."""

    response_id: str
    attributes: tuple[str, ...]
    answers: list[Answer]
    campaign: str | None = None


@dataclass
class SampleSummary:
    """What was written."""

    out_dir: Path
    respondents: int
    seed: int
    rows: int
    rows_per_question: dict[str, int]
    empty: int
    junk: int
    evidence_rich: int
    campaign_members: dict[str, int]
    gold_theme_rows: int
    files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------

_NO_LOWER = frozenset({"I", "I'd", "I'm", "I've", "I'll"})
# First words of fragments that are proper nouns and keep their capital.
_PROPER = frozenset(
    {name.split(" ")[0] for name in STREETS_INSIDE + STREETS_BOUNDARY + STREETS_ELSEWHERE}
    | {"Millbrook", "Ashgrove", "Harbourside", "Blue"}
)


# Statements about oneself, which read oddly after "I think".
_PERSONAL_START = frozenset({"I", "I'd", "I'm", "I've", "We", "We've", "My", "Our"})


def _lower_first(sentence: str) -> str:
    """Lower-case the first letter unless the first word is 'I…' or a proper noun."""
    first = sentence.split(" ", 1)[0]
    if first in _NO_LOWER or first in _PROPER:
        return sentence
    return sentence[0].lower() + sentence[1:]


# Small, fast draws from one random.Random stream (the stdlib helpers are slower).
def _choice(rng: random.Random, seq: Sequence[_T]) -> _T:
    return seq[int(rng.random() * len(seq))]


def _weighted(rng: random.Random, seq: Sequence[_T], weights: Sequence[float]) -> _T:
    r = rng.random() * sum(weights)
    for item, weight in zip(seq, weights, strict=True):
        r -= weight
        if r < 0:
            return item
    return seq[-1]


def _randint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _numbers(rng: random.Random) -> dict[str, object]:
    """Plausible figures for evidence fragments (only evidence fragments hold digits)."""
    cnt_hi = rng.randrange(900, 4200, 10)
    min_a = rng.randint(8, 25)
    gbp_a = rng.randint(6, 30)
    coll_a = rng.randint(14, 31)
    no2_a = rng.randint(34, 49)
    return {
        "cnt_hi": f"{cnt_hi:,}",
        "cnt_lo": rng.randint(40, cnt_hi // 3),
        "min_a": min_a,
        "min_b": min_a + rng.randint(5, 25),
        "pct": rng.randint(6, 45),
        "gbp_a": gbp_a,
        "gbp_b": gbp_a + rng.randint(3, 400),
        "route": _choice(rng, ("12", "47", "86", "104", "N7")),
        "year": rng.randint(2021, 2024),
        "no2_a": no2_a,
        "no2_b": no2_a - rng.randint(5, 15),
        "coll_a": coll_a,
        "coll_b": coll_a - rng.randint(5, 12),
        "n": rng.randint(3, 40),
        "pcn": f"{rng.randrange(4000, 60000, 10):,}",
    }


def _fill(template: str, rng: random.Random, street: str, numbers: bool = False) -> str:
    if "{" not in template:
        return template
    values: dict[str, object] = _numbers(rng) if numbers else {}
    values["street"] = street
    return template.format(**values)


def _typo(rng: random.Random, text: str) -> str:
    """One plausible typing error: a common misspelling, or a swapped, lost or doubled letter."""
    words = text.split(" ")
    i = rng.randrange(len(words))
    word = words[i]
    core = word.rstrip(".,!?;:")
    tail = word[len(core) :]
    lower = core.lower()
    if lower in MISSPELLINGS:
        wrong = MISSPELLINGS[lower]
        core = wrong if core == lower else wrong.capitalize()
    elif len(core) > 3 and core.isalpha():
        j = rng.randrange(1, len(core) - 1)
        op = rng.randrange(3)
        if op == 0:
            core = core[:j] + core[j + 1] + core[j] + core[j + 2 :]
        elif op == 1:
            core = core[:j] + core[j + 1 :]
        else:
            core = core[: j + 1] + core[j] + core[j + 1 :]
    else:
        return text
    words[i] = core + tail
    return " ".join(words)


def _roughen(rng: random.Random, text: str, typo_rate: float) -> str:
    """Typos, lost capitals and missing full stops, at small rates."""
    if rng.random() < typo_rate:
        for _ in range(rng.randint(1, 2)):
            text = _typo(rng, text)
    r = rng.random()
    if r < 0.04:
        text = text.lower()
    elif r < 0.12 and text.endswith("."):
        text = text[:-1]
    return text


def _pick_themes(rng: random.Random, pool: list[Theme], k: int, boost: Theme | None) -> list[Theme]:
    """k distinct themes from pool (a boosted theme first, when it applies)."""
    chosen: list[Theme] = []
    if boost is not None and rng.random() < 0.6:
        chosen.append(boost)
    candidates = [t for t in pool if t is not boost] if chosen else list(pool)
    for i in range(min(k - len(chosen), len(candidates))):  # partial Fisher-Yates
        j = i + int(rng.random() * (len(candidates) - i))
        candidates[i], candidates[j] = candidates[j], candidates[i]
        chosen.append(candidates[i])
    return chosen


def _theme_pool(qid: str, stance: str) -> tuple[list[Theme], list[Theme]]:
    """(main, extra) theme pools for a stance: main themes carry the position."""
    themes = THEMES[qid]
    sided = {
        AGREE: [t for t in themes if t.side == AGREE],
        DISAGREE: [t for t in themes if t.side == DISAGREE],
    }
    neutral = [t for t in themes if t.side is None]
    if stance == MIXED:
        return sided[AGREE] + sided[DISAGREE], neutral
    return sided[stance], neutral


_POOLS: dict[tuple[str, str], tuple[list[Theme], list[Theme]]] = {
    (q, s): _theme_pool(q, s) for q in OPEN_QUESTIONS for s in (AGREE, DISAGREE, MIXED)
}
_SIDES: dict[str, tuple[list[Theme], list[Theme]]] = {
    q: (_POOLS[(q, AGREE)][0], _POOLS[(q, DISAGREE)][0]) for q in OPEN_QUESTIONS
}


@dataclass(frozen=True, slots=True)
class _Context:
    """What a respondent's answers may draw on."""

    stance: str
    street: str
    organisation: str
    boosts: dict[str, Theme]


def _compose(rng: random.Random, qid: str, ctx: _Context, opts: SampleOptions) -> Answer:
    """A free-text answer to one open question, with its gold labels."""
    stance = ctx.stance
    main, extra = _POOLS[(qid, stance)]
    is_org = bool(ctx.organisation)
    boost = ctx.boosts.get(qid)
    if boost is not None and boost.side not in (None, stance) and stance != MIXED:
        boost = None
    if qid == "q4" or (qid == "q3" and rng.random() < 0.15):
        main, extra = main + extra, []  # suggestions and "no effect" cut across positions
    if stance == MIXED and qid != "q4":
        agree_side, disagree_side = _SIDES[qid]
        themes = [_choice(rng, agree_side), _choice(rng, disagree_side)]
        if rng.random() < 0.5:
            themes.reverse()
    else:
        k = _weighted(rng, (1, 2, 3), (0.5, 0.35, 0.15)) if not is_org else _randint(rng, 2, 3)
        themes = _pick_themes(rng, main, k, boost)
    if extra and rng.random() < 0.2:
        themes.append(_choice(rng, extra))
    exclusive = [t for t in themes if t.exclusive]
    if exclusive:
        themes = exclusive[:1]

    short = not is_org and len(themes) == 1 and rng.random() < opts.short_rate
    sentences: list[str] = []
    stated = False  # the text states the respondent's position
    if is_org and qid == "q2":
        sentences.append(_choice(rng, ORG_OPENERS[stance]).format(org=ctx.organisation))
        stated = True
    elif is_org:
        sentences.append(_choice(rng, ORG_FOLLOW_OPENERS[qid]).format(org=ctx.organisation))
    elif rng.random() < (0.55 if qid == "q2" else 0.15):
        sentences.append(_choice(rng, OPENERS[qid][stance]))
        stated = True
    if not is_org and not short and rng.random() < 0.25:
        sentences.append(_fill(_choice(rng, PERSONAL), rng, ctx.street))

    hedges = SUGGESTION_HEDGES if qid == "q4" else HEDGES
    written: list[str] = []
    for theme in themes:
        if short and theme.short:
            sentences.append(_choice(rng, theme.short))
        else:
            n = 1 if theme.single or (rng.random() < 0.6 and not is_org) else 2
            frags = theme.fragments
            i = int(rng.random() * len(frags))
            picks = [frags[i]]
            if n == 2:  # a second, different fragment
                picks.append(frags[(i + 1 + int(rng.random() * (len(frags) - 1))) % len(frags)])
            for frag in picks:
                frag = _fill(frag, rng, ctx.street)
                r = rng.random()
                if r < 0.2 and frag.split(" ", 1)[0] not in _PERSONAL_START:
                    frag = _choice(rng, hedges) + _lower_first(frag)
                elif r < 0.45 and sentences:
                    frag = _choice(rng, CONNECTORS) + _lower_first(frag)
                sentences.append(frag)
        written.append(theme.key)
        if theme.side == stance:
            stated = True

    evidence = False
    rate = opts.organisation_evidence_rate if is_org else opts.evidence_rate
    if not short and rng.random() < rate:
        with_evidence = [t for t in themes if t.evidence] or [t for t in main if t.evidence]
        if with_evidence:
            theme = _choice(rng, with_evidence)
            pos = _randint(rng, 1 if sentences else 0, len(sentences))
            sentences.insert(
                pos, _fill(_choice(rng, theme.evidence), rng, ctx.street, numbers=True)
            )
            evidence = True
            if theme.key not in written:
                written.append(theme.key)
                stated = stated or theme.side == stance
    if not short and rng.random() < 0.2:
        closer = _choice(rng, CLOSERS[stance])
        if closer not in sentences:
            sentences.append(closer)
            stated = True

    if is_org and len(sentences) > 3:
        cut = len(sentences) // 2
        text = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    else:
        text = " ".join(sentences)
    text = _roughen(rng, text, opts.typo_rate)
    gold_stance = stance if stated and stance != MIXED else UNCLEAR
    return Answer(qid, text, tuple(written), gold_stance, evidence)


def _campaign_answer(
    rng: random.Random, qid: str, campaign: Campaign, ctx: _Context, opts: SampleOptions
) -> Answer:
    """A member's copy of the form letter, with the edits members really make."""
    letter = list(campaign.letters[qid])
    if rng.random() < 0.35:  # a verbatim copy
        text = " ".join(s for s, _ in letter)
        keys = tuple(dict.fromkeys(k for _, ks in letter for k in ks))
        return Answer(qid, text, keys, campaign.stance, False, "campaign")
    if len(letter) > 3 and rng.random() < 0.15:
        del letter[rng.randrange(1, len(letter) - 1)]  # drop a middle sentence
    sentences = [s for s, _ in letter]
    themes: list[str] = [k for _, keys in letter for k in keys]
    if qid == "q2" and rng.random() < 0.3:
        sentences[0] = f"As a resident of {ctx.street}, " + _lower_first(sentences[0])
    for old, new in campaign.swaps:
        if rng.random() < 0.15:
            sentences = [s.replace(old, new) for s in sentences]
    if rng.random() < 0.4:  # a sentence of their own
        if rng.random() < 0.5:
            own = _choice(rng, _POOLS[(qid, campaign.stance)][0])
            sentences.insert(
                _choice(rng, (0, len(sentences))),
                _fill(_choice(rng, own.fragments), rng, ctx.street),
            )
            themes.append(own.key)
        else:
            sentences.insert(0, _fill(_choice(rng, PERSONAL), rng, ctx.street))
    if qid == "q2" and rng.random() < 0.25:
        sentences.append(f"Regards, {_choice(rng, FIRST_NAMES)} {_choice(rng, LAST_NAMES)}")
    sep = "\n" if rng.random() < 0.1 else " "
    text = sep.join(sentences)
    if rng.random() < 0.3:
        text = _typo(rng, text)
    unique = tuple(dict.fromkeys(themes))
    return Answer(qid, text, unique, campaign.stance, False, "campaign")


def _closed_answer(rng: random.Random, stance: str, opts: SampleOptions) -> Answer:
    if rng.random() < opts.closed_blank_rate:
        return Answer("q1", "", kind="closed")
    options, weights = CLOSED_BY_STANCE[stance]
    return Answer("q1", _weighted(rng, options, weights), kind="closed")


def _open_answer(
    rng: random.Random,
    index: int,
    ctx: _Context,
    campaign: Campaign | None,
    opts: SampleOptions,
) -> Answer:
    """An open answer: empty, junk, campaign copy or composed text."""
    qid = OPEN_QUESTIONS[index]
    if campaign is not None:
        if qid in campaign.letters and (qid == "q2" or rng.random() < 0.8):
            return _campaign_answer(rng, qid, campaign, ctx, opts)
        if rng.random() < 0.5:
            return Answer(qid, "", kind="empty")
        return _compose(rng, qid, ctx, opts)
    r = rng.random()
    empty_rate = opts.empty_rate[index] if not ctx.organisation else 0.0
    if r < empty_rate:
        return Answer(qid, "" if rng.random() < 0.9 else "  ", kind="empty")
    if r < empty_rate + opts.junk_rate[index] and not ctx.organisation:
        return Answer(qid, _choice(rng, JUNK), kind="junk")
    return _compose(rng, qid, ctx, opts)


def _respondent(rng: random.Random, number: int, opts: SampleOptions) -> Respondent:
    """One respondent with attributes and an answer to every question."""
    is_org = rng.random() < opts.organisation_share
    where = _weighted(rng, WHERE, (0.55, 0.15, 0.22, 0.08))
    if where == WHERE[0]:
        ward, street = _choice(rng, ("Millbrook", "Ashgrove")), _choice(rng, STREETS_INSIDE)
    elif where == WHERE[1]:
        ward, street = _choice(rng, ("Millbrook", "Harbour")), _choice(rng, STREETS_BOUNDARY)
    elif where == WHERE[2]:
        ward, street = _choice(rng, WARDS[2:]), _choice(rng, STREETS_ELSEWHERE)
    else:
        ward, street = "", _choice(rng, STREETS_ELSEWHERE)
    boosts: dict[str, Theme] = {}
    if where == WHERE[1]:
        boosts["q3"] = THEME_BY_KEY["q3-boundary"]
        boosts["q2"] = THEME_BY_KEY["q2-displace"]

    campaign: Campaign | None = None
    if is_org:
        pattern, p_agree = ORG_KINDS[rng.randrange(len(ORG_KINDS))]
        organisation = pattern.format(
            place=_choice(rng, ORG_PLACES), surname=_choice(rng, LAST_NAMES)
        )
        r = rng.random()
        stance = (
            AGREE if r < p_agree else (DISAGREE if r < p_agree + (1 - p_agree) * 0.85 else MIXED)
        )
        if "Traders" in organisation or "Chamber" in organisation or "Builders" in organisation:
            boosts["q2"], boosts["q3"] = THEME_BY_KEY["q2-business"], THEME_BY_KEY["q3-business"]
        elif "Disability" in organisation or "Care" in organisation:
            boosts["q3"] = THEME_BY_KEY["q3-disability"]
            boosts["q4"] = THEME_BY_KEY["q4-exemptions"]
        attributes = ("Organisation", organisation, ward, where, "", "")
    else:
        organisation = ""
        badge = _weighted(rng, ("Yes", "No", "Prefer not to say"), (0.08, 0.88, 0.04))
        p_agree, p_disagree = STANCE_BY_WHERE[where]
        if badge == "Yes":
            p_agree, p_disagree = p_agree * 0.6, p_disagree + p_agree * 0.4
            boosts["q3"] = THEME_BY_KEY["q3-disability"]
            boosts["q4"] = THEME_BY_KEY["q4-exemptions"]
        r = rng.random()
        stance = AGREE if r < p_agree else (DISAGREE if r < p_agree + p_disagree else MIXED)
        r = rng.random()
        for c in opts.campaigns:
            if r < c.share:
                campaign, stance = c, c.stance
                break
            r -= c.share
        age = _weighted(rng, AGES, AGE_WEIGHTS)
        attributes = ("Individual", "", ward, where, age, badge)

    ctx = _Context(stance, street, organisation, boosts)
    answers = [_closed_answer(rng, stance, opts)]
    answers.extend(_open_answer(rng, i, ctx, campaign, opts) for i in range(len(OPEN_QUESTIONS)))
    return Respondent(str(100001 + number), attributes, answers, campaign.key if campaign else None)


def iter_respondents(
    n_respondents: int, *, seed: int = 0, options: SampleOptions | None = None
) -> Iterator[Respondent]:
    """Yield the sample's respondents one at a time (deterministic for a seed)."""
    if n_respondents < 1:
        raise ValueError("n_respondents must be at least 1")
    opts = options or SampleOptions()
    rng = random.Random(seed)
    for number in range(n_respondents):
        yield _respondent(rng, number, opts)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

OUTPUT_FILES: tuple[str, ...] = (
    "questions.csv",
    "responses.csv",
    "codebook.csv",
    "gold_themes.csv",
    "gold_stance.csv",
    "gold_evidence_rich.csv",
    "gold_campaigns.csv",
)
_BUFFER = 1 << 20


def _writer(handle: IO[str]) -> Any:
    """A CSV writer with Unix line endings (fields are quoted only when needed)."""
    return csv.writer(handle, lineterminator="\n")


def write_sample_consultation(
    out_dir: str | Path,
    n_respondents: int,
    *,
    seed: int = 0,
    options: SampleOptions | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> SampleSummary:
    """Write the demo consultation into out_dir (created if needed) and return a summary.

    ``progress`` is called with the number of respondents written so far.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_question = {qid: 0 for qid, _ in QUESTIONS}
    empty = junk = evidence_rich = gold_theme_rows = 0
    members = {c.key: 0 for c in (options or SampleOptions()).campaigns}

    with open(out / "questions.csv", "w", encoding="utf-8", newline="") as fh:
        w = _writer(fh)
        w.writerow(("question_id", "text"))
        w.writerows(QUESTIONS)
    with open(out / "codebook.csv", "w", encoding="utf-8", newline="") as fh:
        w = _writer(fh)
        w.writerow(("question_id", "theme", "label", "description", "position"))
        for qid in OPEN_QUESTIONS:
            w.writerows((qid, t.key, t.label, t.description, t.position) for t in THEMES[qid])

    names = ("responses", "gold_themes", "gold_stance", "gold_evidence_rich")
    headers = {
        "responses": ("response_id", "question_id", "text", *ATTRIBUTE_COLUMNS),
        "gold_themes": ("response_id", "question_id", "theme"),
        "gold_stance": ("response_id", "question_id", "stance"),
        "gold_evidence_rich": ("response_id", "question_id", "evidence_rich"),
    }
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=out) as tmp:
        parts: dict[tuple[str, str], Path] = {}
        handles = []
        writers: dict[tuple[str, str], Any] = {}
        files: dict[tuple[str, str], IO[str]] = {}
        try:
            for name in names:
                qids = [q for q, _ in QUESTIONS] if name == "responses" else list(OPEN_QUESTIONS)
                for qid in qids:
                    path = Path(tmp) / f"{name}.{qid}.part"
                    fh = open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)
                    handles.append(fh)
                    files[(name, qid)] = fh
                    parts[(name, qid)] = path
                    writers[(name, qid)] = _writer(fh)
            camp_fh = open(out / "gold_campaigns.csv", "w", encoding="utf-8", newline="")
            handles.append(camp_fh)
            camp_w = _writer(camp_fh)
            camp_w.writerow(("response_id", "question_id", "campaign_id"))

            for i, resp in enumerate(iter_respondents(n_respondents, seed=seed, options=options)):
                rid, attrs = resp.response_id, resp.attributes
                for a in resp.answers:
                    qid = a.question_id
                    writers[("responses", qid)].writerow((rid, qid, a.text, *attrs))
                    per_question[qid] += 1
                    if a.kind == "closed":
                        continue
                    if a.kind == "campaign" and resp.campaign is not None:
                        camp_w.writerow((rid, qid, resp.campaign))
                    empty += a.kind == "empty"
                    junk += a.kind == "junk"
                    evidence_rich += a.evidence
                    # Gold fields never need CSV quoting: plain writes are faster.
                    prefix = f"{rid},{qid},"
                    if a.themes:
                        files[("gold_themes", qid)].write(
                            "".join(f"{prefix}{key}\n" for key in a.themes)
                        )
                    gold_theme_rows += len(a.themes)
                    files[("gold_stance", qid)].write(f"{prefix}{a.stance}\n")
                    files[("gold_evidence_rich", qid)].write(
                        f"{prefix}{'YES' if a.evidence else 'NO'}\n"
                    )
                if resp.campaign is not None:
                    members[resp.campaign] += 1
                if progress is not None and (i + 1) % progress_every == 0:
                    progress(i + 1)
        finally:
            for fh in handles:
                fh.close()

        for name in names:  # join the parts in question order, as bytes
            with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as dst:
                _writer(dst).writerow(headers[name])
            with open(out / f"{name}.csv", "ab") as dst_bytes:
                for (part_name, _qid), path in parts.items():
                    if part_name == name:
                        with open(path, "rb") as src:
                            shutil.copyfileobj(src, dst_bytes, _BUFFER)
                        path.unlink()
    if progress is not None:
        progress(n_respondents)

    return SampleSummary(
        out_dir=out,
        respondents=n_respondents,
        seed=seed,
        rows=sum(per_question.values()),
        rows_per_question=per_question,
        empty=empty,
        junk=junk,
        evidence_rich=evidence_rich,
        campaign_members=members,
        gold_theme_rows=gold_theme_rows,
        files=list(OUTPUT_FILES),
    )


def write_wide_csv(sample_dir: Path, out: Path) -> int:
    """Rewrite the sample's long layout (a row per answer) as one wide CSV, as Citizen Space
    exports it: a row per respondent, a column per question; returns the rows written."""
    with open(sample_dir / "questions.csv", encoding="utf-8", newline="") as handle:
        questions = {r["question_id"]: r["text"] for r in csv.DictReader(handle)}
    people: dict[str, dict[str, str]] = {}
    with open(sample_dir / "responses.csv", encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        attributes = [c for c in rows.fieldnames or [] if c not in
                      ("response_id", "question_id", "text")]
        for row in rows:
            person = people.setdefault(row["response_id"], {a: row[a] for a in attributes})
            person[questions[row["question_id"]]] = row["text"]
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["Response ID", *attributes, *questions.values()])
        writer.writeheader()
        for key, person in people.items():
            writer.writerow({"Response ID": key, **person})
    return len(people)
