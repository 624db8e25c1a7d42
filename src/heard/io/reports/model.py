"""The report's content, read from the store once, as plain data for the renderers.

Everything a reader sees in any format is decided here: the numbers, the wording of the
method and caveats, the chart data with its alt text and its table, and the quotes after
PII redaction. Counts come from GROUP BY queries, so a large consultation builds quickly.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Length
from django.utils import timezone

from heard import __version__
from heard.pipeline.llm_stage import LLMUse, llm_uses
from heard.pipeline.results import question_summary, theme_table
from heard.store.models import (
    Assignment,
    Consultation,
    DuplicateGroup,
    Question,
    Respondent,
    Response,
    Run,
)

# GOV.UK colours
BLUE = "#1d70b8"
TEXT = "#0b0c0c"
SECONDARY = "#505a5f"
GREEN = "#00703c"
RED = "#d4351c"
ORANGE = "#f47738"
PURPLE = "#4c2c92"
TURQUOISE = "#28a197"
DARK_BLUE = "#003078"
LIGHT_BLUE = "#5694ca"
SERIES_COLOURS = [BLUE, GREEN, ORANGE, PURPLE, TURQUOISE, RED, DARK_BLUE, SECONDARY]
STANCE_ORDER = [
    ("agree", "Agree", GREEN),
    ("disagree", "Disagree", RED),
    ("unclear", "Unclear", SECONDARY),
]
STAGE_LABELS = dict(Question._meta.get_field("stage").choices)
NOT_GIVEN = "Not given"

QUOTES_PER_THEME = 3
QUOTES_PER_SUBTHEME = 2
QUOTE_CHARS = 320
HIGHLIGHTS = 4
MAX_GROUPS = 6
MAX_CHART_CHILDREN = 8


# ---------------------------------------------------------------- the model


@dataclass
class Table:
    """A data table: the first column holds the row headers."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Series:
    name: str
    values: list[float]
    colour: str
    labels: list[str] = field(default_factory=list)  # value labels, one per category
    colours: list[str] = field(default_factory=list)  # per category, overriding ``colour``


@dataclass
class Chart:
    """A horizontal bar chart: "bar" (one series), "grouped" or "stacked" (shares of 100%)."""

    key: str
    title: str
    alt: str
    kind: str
    categories: list[str]
    series: list[Series]
    table: Table
    percent: bool = False  # values are shares (0..1)


@dataclass
class ThemeEntry:
    key: str
    label: str
    description: str
    count: int
    share: str
    level: int
    stance: dict[str, int] = field(default_factory=dict)
    quotes: list[str] = field(default_factory=list)
    children: list[ThemeEntry] = field(default_factory=list)


@dataclass
class Highlight:
    text: str
    reason: str
    themes: list[str]


@dataclass
class Campaign:
    question: str
    kind: str
    size: int
    text: str


@dataclass
class Agreement:
    """AI proposals against the analysts' current assignments, for one question."""

    reviewed: bool
    summary: str
    ai_proposed: int = 0
    kept: int = 0
    removed: int = 0
    added: int = 0
    responses_changed: int = 0
    f1: float | None = None
    f1_changed: float | None = None


@dataclass
class OpenSection:
    kind = "open"
    key: str
    anchor: str
    text: str
    responses: int
    substantive: int
    other: int
    empty: int
    unprocessable: int
    stage: str
    signed_off: str
    themes: list[ThemeEntry]
    theme_chart: Chart | None
    stance_chart: Chart | None
    group_chart: Chart | None
    highlights: list[Highlight]
    campaigns: list[Campaign]
    agreement: Agreement
    paired: str = ""


@dataclass
class ClosedSection:
    kind = "closed"
    key: str
    anchor: str
    text: str
    responses: int
    answered: int
    chart: Chart | None


@dataclass
class Overview:
    responses: int
    respondents: int
    open_questions: int
    closed_questions: int
    kinds: Table
    grouping: str
    groups: Table | None
    campaigns: list[Campaign]
    campaign_responses: int


@dataclass
class Method:
    ai_use: list[str]
    run: Table | None
    review: Table
    caveats: list[str]
    llm: Table | None = None  # what each LLM stage sent and spent, when one was used


@dataclass
class Report:
    name: str
    title: str
    description: str
    generated_at: str
    heard_version: str
    overview: Overview
    sections: list[OpenSection | ClosedSection]
    method: Method

    @property
    def open_sections(self) -> list[OpenSection]:
        return [s for s in self.sections if s.kind == "open"]


# ---------------------------------------------------------------- helpers


def pct(part: float, whole: float) -> str:
    """A share as a whole percentage ("<1%" for small non-zero shares)."""
    if not whole:
        return "0%"
    value = 100 * part / whole
    if 0 < value < 1:
        return "<1%"
    return f"{value:.0f}%"


def number(n: int) -> str:
    return f"{n:,}"


def clean_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A quote with PII redacted, whitespace tidied and cut at a word near ``limit``."""
    from heard.llm.redaction import redact

    text = re.sub(r"\s+", " ", redact(text or "").text).strip()
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
        text = cut + " …"
    return text


def _anchor(key: str) -> str:
    return "q-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "question")


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d %B %Y, %H:%M") if value else ""


# ---------------------------------------------------------------- grouping


@dataclass
class Grouping:
    """How respondents are split for the breakdown: their kind or one attribute."""

    name: str
    attribute: str | None  # None: Respondent.kind

    def expression(self, prefix: str):
        if self.attribute is None:
            return F(f"{prefix}kind")
        return KeyTextTransform(self.attribute, f"{prefix}attributes")

    def value_label(self, value) -> str:
        if value in (None, ""):
            return NOT_GIVEN
        if self.attribute is None:
            return dict(Respondent.Kind.choices).get(value, str(value))
        return str(value)


def _group_counts(consultation: Consultation, grouping: Grouping) -> dict[str, int]:
    rows = (
        consultation.respondents.annotate(g=grouping.expression(""))
        .values("g")
        .annotate(n=Count("id"))
    )
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        out[grouping.value_label(row["g"])] += row["n"]
    return dict(out)


def choose_grouping(consultation: Consultation, attribute: str | None = None) -> Grouping | None:
    """The respondent split with the fewest values (2 to 6): kind, or a demographic attribute."""
    if attribute:
        if attribute == "kind":
            return Grouping("Respondent type", None)
        return Grouping(attribute, attribute)
    candidates: list[tuple[int, int, Grouping]] = []
    kind = Grouping("Respondent type", None)
    kinds = {k for k, n in _group_counts(consultation, kind).items() if k != "Unknown" and n}
    if len(kinds) >= 2:
        candidates.append((len(kinds), 0, kind))
    keys: list[str] = []
    for attrs in consultation.respondents.values_list("attributes", flat=True)[:500]:
        for key in attrs or {}:
            if key not in keys:
                keys.append(key)
    for position, key in enumerate(keys[:30], start=1):
        grouping = Grouping(key, key)
        values = [v for v, n in _group_counts(consultation, grouping).items() if v != NOT_GIVEN]
        if 2 <= len(values) <= MAX_GROUPS:
            candidates.append((len(values), position, grouping))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


# ---------------------------------------------------------------- build


def build_report(
    consultation: Consultation,
    question: str | None = None,
    *,
    group_by: str | None = None,
) -> Report:
    """Read the report's content for ``consultation`` (optionally one question) from the store."""
    questions = list(consultation.questions.all())
    if question is not None:
        chosen = [q for q in questions if q.key == question]
        if not chosen:
            known = ", ".join(q.key for q in questions if q.kind != Question.Kind.DEMOGRAPHIC)
            raise ValueError(f"No question {question!r} in {consultation.name}. Questions: {known}")
        questions = chosen
    grouping = choose_grouping(consultation, group_by)
    run = (
        Run.objects.filter(consultation=consultation, kind="analyse", status=Run.Status.DONE)
        .order_by("-finished_at", "-created_at")
        .first()
    )
    sections: list[OpenSection | ClosedSection] = []
    for q in questions:
        if q.kind == Question.Kind.OPEN:
            sections.append(_open_section(q, grouping))
        elif q.kind == Question.Kind.CLOSED:
            sections.append(_closed_section(q))
    overview = _overview(consultation, questions, grouping)
    return Report(
        name=consultation.name,
        title=consultation.title or f"Consultation {consultation.name}",
        description=consultation.description,
        generated_at=_when(timezone.now()),
        heard_version=__version__,
        overview=overview,
        sections=sections,
        method=_method(run, sections, overview, llm_uses(consultation)),
    )


def _overview(
    consultation: Consultation, questions: list[Question], grouping: Grouping | None
) -> Overview:
    respondents = consultation.respondents.count()
    responses = Response.objects.filter(
        question__in=[q for q in questions if q.kind != Question.Kind.DEMOGRAPHIC], is_empty=False
    ).count()
    kind_counts = _group_counts(consultation, Grouping("Respondent type", None))
    kinds = Table(
        "Respondents by type",
        ["Respondent type", "Respondents", "Share"],
        [
            [k, number(n), pct(n, respondents)]
            for k, n in sorted(kind_counts.items(), key=lambda kv: -kv[1])
        ],
    )
    groups = None
    if grouping is not None:
        counts = _group_counts(consultation, grouping)
        groups = Table(
            f"Respondents by {grouping.name}",
            [grouping.name, "Respondents", "Share"],
            [[g, number(n), pct(n, respondents)] for g, n in _ordered_groups(counts)],
        )
    campaigns = [
        Campaign(g.question.key, g.get_kind_display(), g.size, clean_quote(g.canonical_text, 200))
        for g in DuplicateGroup.objects.filter(
            question__in=questions, kind=DuplicateGroup.Kind.CAMPAIGN
        )
        .select_related("question")
        .order_by("-size")
    ]
    return Overview(
        responses=responses,
        respondents=respondents,
        open_questions=sum(q.kind == Question.Kind.OPEN for q in questions),
        closed_questions=sum(q.kind == Question.Kind.CLOSED for q in questions),
        kinds=kinds,
        grouping=grouping.name if grouping else "",
        groups=groups,
        campaigns=campaigns,
        campaign_responses=sum(c.size for c in campaigns),
    )


def _ordered_groups(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Groups by size, with "Not given" last."""
    return sorted(counts.items(), key=lambda kv: (kv[0] == NOT_GIVEN, -kv[1], kv[0]))


def _open_section(question: Question, grouping: Grouping | None) -> OpenSection:
    summary = question_summary(question)
    outcomes = summary["outcomes"]
    total = summary["responses"]
    empty = outcomes.get(Response.Outcome.EMPTY, 0)
    unprocessable = outcomes.get(Response.Outcome.UNPROCESSABLE, 0)
    substantive = total - empty - unprocessable
    rows = theme_table(question)
    ids = {k: (i, p) for k, i, p in question.themes.values_list("key", "id", "parent_id")}
    stance = _theme_stance(question, ids)
    quotes = _quotes(question, rows, ids)
    entries: dict[str, ThemeEntry] = {}
    roots: list[ThemeEntry] = []
    for row in rows:
        if row["key"] in ("other", "empty") and row["key"] not in ids:
            continue
        entry = ThemeEntry(
            key=row["key"],
            label=row["label"],
            description=row["description"],
            count=row["count"],
            share=pct(row["count"], substantive),
            level=row["level"],
            stance=stance.get(row["key"], {}),
            quotes=quotes.get(row["key"], []),
        )
        entries[row["key"]] = entry
        parent = entries.get(row["parent"]) if row["parent"] else None
        (parent.children if parent else roots).append(entry)
    roots.sort(key=lambda e: -e.count)
    for entry in roots:
        entry.children.sort(key=lambda e: -e.count)
    other = outcomes.get(Response.Outcome.OTHER, 0)
    name = question.key
    return OpenSection(
        key=question.key,
        anchor=_anchor(question.key),
        text=question.text,
        responses=total,
        substantive=substantive,
        other=other,
        empty=empty,
        unprocessable=unprocessable,
        stage=STAGE_LABELS.get(question.stage, question.stage),
        signed_off=_signed_off(question),
        themes=roots,
        theme_chart=_theme_chart(name, roots, other, empty, substantive, total),
        stance_chart=_stance_chart(name, summary["stance"], roots),
        group_chart=_group_chart(question, grouping, roots, ids) if grouping else None,
        highlights=_highlights(question),
        campaigns=[
            Campaign(question.key, c["kind"], c["size"], clean_quote(c["canonical_text"], 200))
            for c in summary["campaigns"]
        ],
        agreement=_agreement(question),
        paired=question.paired_closed.key if question.paired_closed_id else "",
    )


def _signed_off(question: Question) -> str:
    if question.stage == "draft":
        return "Not signed off"
    who = question.stage_changed_by.get_username() if question.stage_changed_by_id else ""
    parts = [STAGE_LABELS.get(question.stage, question.stage)]
    if who:
        parts.append(f"by {who}")
    if question.stage_changed_at:
        parts.append(f"on {_when(question.stage_changed_at)}")
    return " ".join(parts)


def _theme_stance(question: Question, ids: dict) -> dict[str, dict[str, int]]:
    """Stance counts per theme; a parent counts the responses of its sub-themes once."""
    key_of = {i: k for k, (i, _) in ids.items()}
    out: dict[str, dict[str, int]] = defaultdict(dict)
    rows = (
        Assignment.objects.filter(theme__question=question, is_active=True)
        .values("theme_id", "response__stance")
        .annotate(n=Count("response_id", distinct=True))
    )
    for row in rows:
        out[key_of[row["theme_id"]]][row["response__stance"] or "unclear"] = row["n"]
    parents = {p for _, p in ids.values() if p}
    for parent in parents:
        family = [parent] + [i for i, p in ids.values() if p == parent]
        counts: dict[str, int] = defaultdict(int)
        for row in (
            Response.objects.filter(assignments__theme_id__in=family, assignments__is_active=True)
            .values("stance")
            .annotate(n=Count("id", distinct=True))
        ):
            counts[row["stance"] or "unclear"] += row["n"]
        out[key_of[parent]] = dict(counts)
    return out


def _quotes(question: Question, rows: list[dict], ids: dict) -> dict[str, list[str]]:
    """Up to 3 redacted quotes per theme (2 per sub-theme), none shown twice in a question."""
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for row in rows:
        if row["key"] not in ids:
            continue
        limit = QUOTES_PER_SUBTHEME if row["level"] else QUOTES_PER_THEME
        texts = [q.get("text", "") for q in row["quotes"] or [] if isinstance(q, dict)]
        if not texts:
            texts = list(
                Response.objects.filter(
                    assignments__theme_id=ids[row["key"]][0], assignments__is_active=True
                )
                .exclude(text="")
                .order_by(F("assignments__confidence").desc(nulls_last=True), "id")
                .values_list("text", flat=True)[: limit * 3]
            )
        chosen = []
        for text in texts:
            quote = clean_quote(text)
            if quote and quote not in seen:
                seen.add(quote)
                chosen.append(quote)
            if len(chosen) >= limit:
                break
        out[row["key"]] = chosen
    return out


def _highlights(question: Question) -> list[Highlight]:
    """A few evidence-rich responses (not campaign copies), with the reason they were flagged."""
    candidates = (
        question.responses.filter(evidence_rich=True)
        .exclude(group__kind=DuplicateGroup.Kind.CAMPAIGN)
        .annotate(reason_length=Length("evidence_reason"))
        .order_by("-reason_length", "id")
        .values_list("id", "text", "evidence_reason", "content_hash")[: HIGHLIGHTS * 5]
    )
    picked: list[tuple[int, str, str]] = []
    hashes: set[str] = set()
    for rid, text, reason, content_hash in candidates:
        if content_hash and content_hash in hashes:
            continue
        hashes.add(content_hash)
        picked.append((rid, text, reason))
        if len(picked) >= HIGHLIGHTS:
            break
    labels: dict[int, list[str]] = defaultdict(list)
    for rid, label in Assignment.objects.filter(
        response_id__in=[p[0] for p in picked], is_active=True
    ).values_list("response_id", "theme__label"):
        labels[rid].append(label)
    return [
        Highlight(clean_quote(text, 500), clean_quote(reason, 200) or "evidence-rich", labels[rid])
        for rid, text, reason in picked
    ]


def _agreement(question: Question) -> Agreement:
    """Micro-F1 of the AI's proposals against the current (human-reviewed) assignments."""
    base = Assignment.objects.filter(theme__question=question)
    counts = base.aggregate(
        kept=Count("id", filter=Q(ai_original=True, is_active=True)),
        removed=Count("id", filter=Q(ai_original=True, is_active=False)),
        added=Count("id", filter=Q(ai_original=False, is_active=True)),
    )
    kept, removed, added = counts["kept"], counts["removed"], counts["added"]
    if not removed and not added:
        reviewed = question.stage in ("mapping_reviewed", "final")
        summary = (
            "Signed off with no change to the AI's assignments."
            if reviewed
            else "No human review yet: every assignment is the AI's proposal."
        )
        return Agreement(reviewed=False, summary=summary, ai_proposed=kept, kept=kept)
    changed = (
        base.filter(Q(ai_original=False) | Q(is_active=False))
        .values("response_id")
        .distinct()
        .count()
    )
    on_changed = base.filter(
        response_id__in=base.filter(Q(ai_original=False) | Q(is_active=False)).values("response_id")
    ).aggregate(
        kept=Count("id", filter=Q(ai_original=True, is_active=True)),
    )["kept"]
    f1 = 2 * kept / (2 * kept + removed + added) if kept + removed + added else None
    f1_changed = 2 * on_changed / (2 * on_changed + removed + added)
    summary = (
        f"Analysts changed the themes of {number(changed)} responses: they removed "
        f"{number(removed)} of {number(kept + removed)} AI assignments and added {number(added)}. "
        f"Agreement between the AI and the current assignments (micro-F1) is {f1:.2f} over all "
        f"responses and {f1_changed:.2f} over the responses analysts changed."
    )
    return Agreement(
        reviewed=True,
        summary=summary,
        ai_proposed=kept + removed,
        kept=kept,
        removed=removed,
        added=added,
        responses_changed=changed,
        f1=f1,
        f1_changed=f1_changed,
    )


def _closed_section(question: Question) -> ClosedSection:
    counts: dict[str, int] = defaultdict(int)
    answered = total = 0
    for row in question.responses.values("options").annotate(n=Count("id")):
        chosen = row["options"] or []
        if isinstance(chosen, str):
            chosen = [chosen]
        total += row["n"]
        if chosen:
            answered += row["n"]
        for option in chosen:
            counts[str(option)] += row["n"]
    known = [str(o) for o in question.options or []]
    order = [o for o in known if o in counts] + sorted(
        (o for o in counts if o not in known), key=lambda o: -counts[o]
    )
    chart = None
    if order:
        title = f"{question.key}: answers by option"
        table = Table(
            f"{question.key}: respondents choosing each option",
            ["Option", "Respondents", "Share of those answering"],
            [[o, number(counts[o]), pct(counts[o], answered)] for o in order],
        )
        top = max(order, key=lambda o: counts[o])
        chart = Chart(
            key=f"{_anchor(question.key)}-options",
            title=title,
            alt=(
                f"Bar chart of the {len(order)} options of {question.key}, answered by "
                f"{number(answered)} respondents. The most chosen is “{top}” with "
                f"{number(counts[top])} ({pct(counts[top], answered)}). Data in the table below."
            ),
            kind="bar",
            categories=order,
            series=[
                Series(
                    "Respondents",
                    [counts[o] for o in order],
                    BLUE,
                    [f"{number(counts[o])} ({pct(counts[o], answered)})" for o in order],
                )
            ],
            table=table,
        )
    return ClosedSection(
        key=question.key,
        anchor=_anchor(question.key),
        text=question.text,
        responses=total,
        answered=answered,
        chart=chart,
    )


# ---------------------------------------------------------------- charts


def _theme_chart(
    name: str, roots: list[ThemeEntry], other: int, empty: int, substantive: int, total: int
) -> Chart | None:
    cats: list[tuple[str, int, str]] = []
    colours: list[str] = []
    for entry in roots:
        cats.append((entry.label, entry.count, entry.share))
        colours.append(BLUE)
        for child in entry.children[:MAX_CHART_CHILDREN]:
            cats.append((f"– {child.label}", child.count, child.share))
            colours.append(LIGHT_BLUE)
    colours += [SECONDARY, SECONDARY]
    if other:
        cats.append(("Other", other, pct(other, substantive)))
    if empty:
        cats.append(("No substantive answer", empty, pct(empty, total)))
    if not cats:
        return None
    rows = []
    for entry in roots:
        rows.append([entry.label, number(entry.count), entry.share])
        for child in entry.children:
            rows.append([f"— {child.label}", number(child.count), child.share])
    if other:
        rows.append(["Other", number(other), pct(other, substantive)])
    if empty:
        rows.append(["No substantive answer", number(empty), pct(empty, total)])
    top = roots[0] if roots else None
    alt = (
        f"Bar chart of the {len(roots)} themes of {name} (dark bars) and their sub-themes "
        "(light bars, under their theme), by number of responses."
    )
    if top:
        alt += f" The largest is “{top.label}”: {number(top.count)} responses ({top.share})."
    alt += " Data, with sub-themes, in the table below."
    return Chart(
        key=f"{_anchor(name)}-themes",
        title=f"{name}: responses per theme",
        alt=alt,
        kind="bar",
        categories=[c[0] for c in cats],
        series=[
            Series(
                "Responses",
                [c[1] for c in cats],
                BLUE,
                [f"{number(c[1])} ({c[2]})" for c in cats],
                colours[: len(cats)],
            )
        ],
        table=Table(
            f"{name}: responses per theme and sub-theme (share of substantive responses; "
            "“No substantive answer” as a share of all responses)",
            ["Theme", "Responses", "Share"],
            rows,
        ),
    )


def _stance_chart(name: str, overall: dict[str, int], roots: list[ThemeEntry]) -> Chart | None:
    if not sum(overall.values()):
        return None
    cats = [("All responses with a stance", overall)] + [(e.label, e.stance) for e in roots]
    series = []
    for key, label, colour in STANCE_ORDER:
        values, labels = [], []
        for _, counts in cats:
            whole = sum(counts.values())
            values.append(counts.get(key, 0) / whole if whole else 0.0)
            labels.append(pct(counts.get(key, 0), whole))
        series.append(Series(label, values, colour, labels))
    rows = []
    for label, counts in cats:
        whole = sum(counts.values())
        rows.append(
            [label]
            + [
                f"{number(counts.get(k, 0))} ({pct(counts.get(k, 0), whole)})"
                for k, _, _ in STANCE_ORDER
            ]
        )
    whole = sum(overall.values())
    alt = (
        f"Stacked bar chart of stance in {name}, overall and per theme. Overall: "
        + ", ".join(f"{lab.lower()} {pct(overall.get(k, 0), whole)}" for k, lab, _ in STANCE_ORDER)
        + ". Data in the table below."
    )
    return Chart(
        key=f"{_anchor(name)}-stance",
        title=f"{name}: stance overall and per theme",
        alt=alt,
        kind="stacked",
        categories=[c[0] for c in cats],
        series=series,
        table=Table(
            f"{name}: stance overall and per theme (responses, share of the row)",
            ["Theme"] + [lab for _, lab, _ in STANCE_ORDER],
            rows,
        ),
        percent=True,
    )


def _group_chart(
    question: Question, grouping: Grouping, roots: list[ThemeEntry], ids: dict
) -> Chart | None:
    """Share of each group's substantive responses that mention each theme."""
    if not roots:
        return None
    expr = grouping.expression("response__respondent__")
    totals: dict[str, int] = defaultdict(int)
    for row in (
        question.responses.exclude(outcome=Response.Outcome.EMPTY)
        .annotate(g=grouping.expression("respondent__"))
        .values("g")
        .annotate(n=Count("id"))
    ):
        totals[grouping.value_label(row["g"])] += row["n"]
    groups = [g for g, _ in _ordered_groups(totals)][:MAX_GROUPS]
    if len(groups) < 2:
        return None
    family = {e.key: [ids[e.key][0]] + [ids[c.key][0] for c in e.children] for e in roots}
    theme_of = {i: key for key, members in family.items() for i in members}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    leaf_only = all(len(m) == 1 for m in family.values())
    if leaf_only:
        rows = (
            Assignment.objects.filter(theme__question=question, is_active=True)
            .annotate(g=expr)
            .values("theme_id", "g")
            .annotate(n=Count("response_id", distinct=True))
        )
        for row in rows:
            if row["theme_id"] in theme_of:
                counts[theme_of[row["theme_id"]]][grouping.value_label(row["g"])] += row["n"]
    else:
        for key, members in family.items():
            for row in (
                Response.objects.filter(
                    assignments__theme_id__in=members, assignments__is_active=True
                )
                .annotate(g=grouping.expression("respondent__"))
                .values("g")
                .annotate(n=Count("id", distinct=True))
            ):
                counts[key][grouping.value_label(row["g"])] += row["n"]
    series = []
    for position, group in enumerate(groups):
        whole = totals[group]
        values = [counts[e.key].get(group, 0) / whole if whole else 0.0 for e in roots]
        labels = [pct(counts[e.key].get(group, 0), whole) for e in roots]
        series.append(
            Series(
                f"{group} ({number(whole)})",
                values,
                SERIES_COLOURS[position % len(SERIES_COLOURS)],
                labels,
            )
        )
    rows = [
        [e.label]
        + [
            f"{number(counts[e.key].get(g, 0))} ({pct(counts[e.key].get(g, 0), totals[g])})"
            for g in groups
        ]
        for e in roots
    ]
    rows.append(["Substantive responses"] + [number(totals[g]) for g in groups])
    name = question.key
    return Chart(
        key=f"{_anchor(name)}-groups",
        title=f"{name}: themes by {grouping.name}",
        alt=(
            f"Grouped bar chart of the share of each group's substantive responses to {name} "
            f"that raise each theme, for {len(groups)} groups of {grouping.name}: "
            + ", ".join(groups)
            + ". Counts and shares in the table below."
        ),
        kind="grouped",
        categories=[e.label for e in roots],
        series=series,
        table=Table(
            f"{name}: responses per theme and {grouping.name} (share of the group's "
            "substantive responses)",
            ["Theme"] + groups,
            rows,
        ),
        percent=True,
    )


# ---------------------------------------------------------------- method


def _llm_use(uses: list[LLMUse], keys: set[str]) -> tuple[list[str], Table | None]:
    """Sentences and a table on the LLM stages that covered the questions ``keys``."""
    rows, sentences = [], []
    for use in uses:
        covered = [q for q in use.questions if q.key in keys]
        if not covered:
            continue
        sent = sum(q.sent for q in covered)
        total = sum(q.responses for q in covered)
        keys = ", ".join(q.key for q in covered)
        what = (
            f"The text of {number(sent)} of {number(total)} responses ({pct(sent, total)}) to "
            f"{keys} was sent to it"
            if all(q.sent_recorded for q in covered)
            else f"Responses to {keys} were sent to it (how many was not recorded by the "
            "version of Heard that made this run)"
        )
        sentences.append(
            f"A large language model was used in run #{use.run_id}: {use.model} from "
            f"{use.provider}, for {', '.join(use.stages)}. {what}, with personal details "
            "redacted first: samples of each theme, the responses the offline analysis was "
            "least sure of, and those quoted in summaries. Its changes to themes are in the "
            "history of changes, and analysts review them like any other proposal."
        )
        rows += [
            [f"#{use.run_id}", use.name, q.key,
             f"{number(q.sent)} of {number(q.responses)}" if q.sent_recorded else "not recorded",
             pct(q.sent, q.responses) if q.sent_recorded else "—", number(q.calls),
             f"{number(q.prompt_tokens)} in, {number(q.completion_tokens)} out", q.cost_text]
            for q in covered
        ]
    if not rows:
        return [], None
    return sentences, Table(
        "Large language model use: responses sent, calls, tokens and cost",
        ["Run", "Model", "Question", "Responses sent", "Share", "Calls", "Tokens", "Cost"],
        rows,
    )


def _method(
    run: Run | None, sections: list, overview: Overview, uses: list[LLMUse] | None = None
) -> Method:
    open_sections = [s for s in sections if s.kind == "open"]
    llm_sentences, llm_table = _llm_use(uses or [], {s.key for s in open_sections})
    ai_use = [
        "Heard read every response with software running on this organisation's own machine"
        + ("; no response left it." if llm_table is None else
           ". Only the large language model described below received any response text."),
    ]
    run_table = None
    versions = (run.versions or {}) if run is not None else {}
    if run is None:
        ai_use.append("No completed analysis run is recorded, so no themes are AI proposals.")
    else:
        embedder = versions.get("embedder", "the bundled sentence-embedding model")
        ai_use += [
            f"Each response was turned into a vector by an offline sentence-embedding model "
            f"({embedder}); exact copies, near copies and campaigns were grouped first so that "
            "each distinct argument was analysed once and counted as often as it was sent.",
            "Themes were proposed by clustering those vectors into a two-level hierarchy, "
            "labelled with key phrases from the responses and illustrated with verbatim quotes. "
            "Each response was then mapped to zero or more themes, to “Other”, or to “No "
            "substantive answer”.",
            "Stance (agree, disagree, unclear) comes from a classifier that uses the answers to "
            "a paired closed question as weak labels where one exists. Evidence-rich responses "
            "(data, examples, lived experience) were flagged by rules, each with its reason.",
        ]
    ai_use += llm_sentences or ["No large language model was used."]
    if run is not None:
        rows = [
            ["Run", f"#{run.pk}, {run.get_status_display().lower()}"],
            ["Finished", _when(run.finished_at)],
            ["Seed", str(run.seed)],
        ]
        rows += [[f"Version: {k}", str(v)] for k, v in sorted(versions.items())]
        rows += [
            [f"Parameter: {k}", "—" if v in (None, "") else str(v)]
            for k, v in sorted((run.params or {}).items())
            if k != "seed"
        ]
        run_table = Table("The analysis run, its models and versions", ["Item", "Value"], rows)
    review = Table(
        "Human review and sign-off per question",
        ["Question", "Stage", "Signed off", "AI vs human agreement"],
        [
            [
                s.key,
                s.stage,
                s.signed_off,
                "No human review yet"
                if not s.agreement.reviewed
                else f"micro-F1 {s.agreement.f1:.2f} ({number(s.agreement.responses_changed)} "
                "responses changed)",
            ]
            for s in open_sections
        ],
    )
    caveats = [
        "Themes are proposals from automated analysis until analysts sign them off; a "
        "question's stage above says how far its review has gone.",
        "A response can raise several themes, so theme counts add up to more than the number "
        "of responses, and theme shares to more than 100%.",
    ]
    for s in open_sections:
        unreadable = (
            f" {number(s.unprocessable)} could not be read (unprocessable documents; each is "
            "listed with its reason in the export) and are left out of the theme shares."
            if s.unprocessable
            else ""
        )
        caveats.append(
            f"{s.key}: {number(s.other)} responses matched no theme (“Other”) and "
            f"{number(s.empty)} gave no substantive answer, out of {number(s.responses)}."
            + unreadable
        )
    if overview.campaigns:
        caveats.append(
            f"Organised campaigns: {number(len(overview.campaigns))}, with "
            f"{number(overview.campaign_responses)} responses in all. Each campaign response is "
            "counted as a response in the theme counts, as it was sent."
        )
    else:
        caveats.append("No organised campaigns were detected.")
    caveats.append(
        "Stance and evidence flags are automated estimates; quotes are verbatim apart from "
        "personal details (emails, phone numbers, postcodes, National Insurance and card "
        "numbers, names) replaced by placeholders such as [EMAIL]."
    )
    return Method(ai_use=ai_use, run=run_table, review=review, caveats=caveats, llm=llm_table)


__all__ = [
    "Agreement",
    "Campaign",
    "Chart",
    "ClosedSection",
    "Highlight",
    "Method",
    "OpenSection",
    "Overview",
    "Report",
    "Series",
    "Table",
    "ThemeEntry",
    "build_report",
    "choose_grouping",
    "clean_quote",
]
