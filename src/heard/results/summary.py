"""A question's results in plain words: a few sentences, each number tied to its responses.

``plain_summary`` turns one :class:`~heard.results.model.QuestionResults` into sentences
such as "Most respondents (62%) disagreed; a minority (18%) agreed." Every number in them
is a :class:`Figure` that carries the selection of responses it counts, so a presenter can
link it (the web app) or print it (the CLI, the reports). It reads only the results model,
so the numbers are the model's numbers.

Wording rules
-------------
- Shares use the model's denominators: stance over the base responses that have a stance,
  themes and "Other" over the base, "No substantive answer" over all responses.
- Quantifiers by share: "all" (100%), "most" (more than 55%), "a narrow majority" (more
  than 50%), "half" (exactly 50%), "about half" (45% to 50%), "a minority" (10% to 45%),
  "a small minority" (under 10%). "Most" and "a majority" are never said of 50% or less.
- Under :data:`SMALL` responses in the denominator, no quantifier and no percentage:
  the sentence gives the counts ("5 of 8").
- Agree and disagree are reported apart; a tie says so.
- No stance sentence where no response was given a stance (the question asks for none).
- Themes are the top-level themes (a parent counts its family's distinct responses, the
  model's own count), largest first; sub-themes are not mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from heard.results.model import QuestionResults, ThemeResult

SMALL = 10  # under this many responses in a denominator, counts rather than shares
TOP_THEMES = 3
BASE = ("mapped", "other")  # the outcomes of the base


def percent(part: float, whole: float) -> str:
    """A share as a whole percentage ("<1%" for a small non-zero share, "0%" of nothing)."""
    if not whole:
        return "0%"
    value = 100 * part / whole
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:  # never round a part up to the whole
        return ">99%"
    return f"{value:.0f}%"


@dataclass(frozen=True)
class Selection:
    """Which of the question's responses a number counts (every field must hold)."""

    themes: tuple[int, ...] = ()  # theme ids; a parent stands for its sub-themes too
    stances: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A number in a sentence: ``count`` of ``whole``, written as ``text``."""

    count: int
    whole: int
    text: str  # "62%" or "5 of 8"
    selection: Selection


@dataclass(frozen=True)
class Sentence:
    """Plain text and figures, in reading order."""

    parts: tuple[str | Figure, ...]

    @property
    def text(self) -> str:
        return "".join(p.text if isinstance(p, Figure) else p for p in self.parts)

    @property
    def figures(self) -> list[Figure]:
        return [p for p in self.parts if isinstance(p, Figure)]


def quantifier(count: int, whole: int) -> str:
    """The plain word for ``count`` of ``whole`` (see the module's rules)."""
    if whole <= 0 or count <= 0:
        return "none"
    if count >= whole:
        return "all"
    if 2 * count == whole:
        return "half"
    ratio = count / whole
    if ratio > 0.55:
        return "most"
    if ratio > 0.5:
        return "a narrow majority"
    if ratio >= 0.45:
        return "about half"
    if ratio >= 0.10:
        return "a minority"
    return "a small minority"


@dataclass
class _Builder:
    parts: list[str | Figure] = field(default_factory=list)

    def add(self, *parts: str | Figure) -> _Builder:
        self.parts.extend(parts)
        return self

    def done(self) -> Sentence:
        parts = [p for p in self.parts if p != ""]
        first = parts[0]
        if isinstance(first, str):
            parts[0] = first[:1].upper() + first[1:]
        return Sentence(tuple(parts))


def _figure(count: int, whole: int, selection: Selection) -> Figure:
    text = percent(count, whole) if whole >= SMALL else f"{count} of {whole}"
    return Figure(count, whole, text, selection)


def _count(count: int, whole: int, selection: Selection, noun: str = "") -> Figure:
    """A number given as a count ("3" or "3 responses"), not as a share."""
    text = f"{count:,}" + (f" {noun}{'' if count == 1 else 's'}" if noun else "")
    return Figure(count, whole, text, selection)


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _theme_selection(theme: ThemeResult, stance: str = "") -> Selection:
    return Selection((theme.id,), (stance,) if stance else (), BASE)


def _listing(items: list[tuple[str, Figure]]) -> list[str | Figure]:
    """ "A (40%), B (25%) and C (12%)" as parts."""
    parts: list[str | Figure] = []
    for i, (label, fig) in enumerate(items):
        if i:
            parts.append(" and " if i == len(items) - 1 else ", ")
        parts += [f"“{label}” (", fig, ")"]
    return parts


STANCE_VERBS = {"agree": "agreed", "disagree": "disagreed"}
MAJORITY = ("all", "most", "a narrow majority")  # words said only of more than half


def _stance_sentences(results: QuestionResults) -> list[Sentence]:
    stance = {k: results.stance.get(k, 0) for k in ("agree", "disagree", "unclear")}
    whole = sum(stance.values())
    if not whole:
        return []
    sel = {k: Selection((), (k,), BASE) for k in stance}
    figs = {k: _figure(n, whole, sel[k]) for k, n in stance.items()}
    # "Most respondents (62%) disagreed" when every base response has a stance; else the
    # sentence names its denominator first.
    lead = "" if whole == results.base else (
        f"of the {whole:,} respondents whose answer showed a stance, ")
    who = "" if lead else " respondents"
    agree, disagree = stance["agree"], stance["disagree"]
    b = _Builder()
    if whole < SMALL:
        figs = {k: _count(n, whole, sel[k]) for k, n in stance.items()}
        b.add("Of ", _count(whole, whole, Selection((), tuple(stance), BASE), "response"),
              " with a stance, ")
        counted = [(k, n) for k, n in sorted(stance.items(), key=lambda kv: -kv[1]) if n]
        for i, (k, _) in enumerate(counted):
            if i:
                b.add(" and " if i == len(counted) - 1 else ", ")
            b.add(figs[k], f" {STANCE_VERBS[k]}" if k in STANCE_VERBS else " were unclear")
        return [b.add(".").done()]
    if agree == disagree:
        b.add(lead, f"as many{who} agreed (", figs["agree"], ") as disagreed (",
              figs["disagree"], ")")
    else:
        major, minor = ("agree", "disagree") if agree > disagree else ("disagree", "agree")
        word = quantifier(stance[major], whole)
        if word in MAJORITY:
            b.add(lead, word, " of" if who and word.startswith("a ") else "", who, " (",
                  figs[major], f") {STANCE_VERBS[major]}; ")
            if stance[minor]:
                b.add(f"{quantifier(stance[minor], whole)} (", figs[minor],
                      f") {STANCE_VERBS[minor]}")
            else:
                b.add(f"none {STANCE_VERBS[minor]}")
        else:  # the larger side is no majority: compare the two
            b.add(lead, f"more{who} {STANCE_VERBS[major]} (", figs[major],
                  f") than {STANCE_VERBS[minor]} (", figs[minor], ")")
    if stance["unclear"]:
        b.add("; for ", figs["unclear"], " the stance was unclear")
    sentences = [b.add(".").done()]
    # The most common theme among those on each side, agree and disagree kept apart.
    for side in ("disagree", "agree") if disagree >= agree else ("agree", "disagree"):
        side_n = stance[side]
        theme = max(results.roots, key=lambda t: t.stance.get(side, 0), default=None)
        if theme is None or not theme.stance.get(side, 0) or side_n < SMALL:
            continue
        sentences.append(
            _Builder().add(f"Of those who {STANCE_VERBS[side]}, the theme raised most often was "
                           f"“{theme.label}” (",
                           _figure(theme.stance[side], side_n, _theme_selection(theme, side)),
                           " of them).").done()
        )
    return sentences


def _theme_sentence(results: QuestionResults) -> Sentence | None:
    base = results.base
    raised = sorted((t for t in results.roots if t.count), key=lambda t: -t.count)[:TOP_THEMES]
    if not raised:
        return None
    items = [(t.label, _figure(t.count, base, _theme_selection(t))) for t in raised]
    tied = sum(1 for t in raised if t.count == raised[0].count)
    b = _Builder()
    if len(raised) == 1:
        b.add("the most common theme was ", *_listing(items))
    elif tied > 1:
        b.add("the most common themes, raised equally often, were ", *_listing(items[:tied]))
        if items[tied:]:
            b.add(", then ", *_listing(items[tied:]))
    else:
        b.add("the most common themes were ", *_listing(items))
    return b.add(".").done()


def _outcome_sentence(results: QuestionResults) -> Sentence | None:
    o = results.outcomes
    b = _Builder()
    if o.other:
        other = _figure(o.other, results.base, Selection((), (), ("other",)))
        if not results.themes:
            b.add(_count(o.other, results.base, other.selection, "substantive response"),
                  f" {'has' if o.other == 1 else 'have'} no theme yet")
        elif results.base >= SMALL:
            b.add(other, " of substantive responses matched no theme (“Other”)")
        else:
            b.add(other, " substantive responses matched no theme (“Other”)")
    if o.empty:
        empty = _count(o.empty, o.total, Selection((), (), ("empty",)))
        if o.empty < o.total:
            b.add("; " if b.parts else "", empty,
                  f" of the {o.total:,} responses gave no substantive answer")
        else:
            b.add("all " if o.total > 1 else "the ", empty,
                  f" response{'s' if o.total > 1 else ''} gave no substantive answer")
    if o.unprocessable:
        b.add("; " if b.parts else "",
              _count(o.unprocessable, o.total, Selection((), (), ("unprocessable",)), "response"),
              " could not be read")
    if o.pending:
        b.add("; " if b.parts else "",
              _count(o.pending, o.total, Selection((), (), ("pending",)), "response"),
              f" {_are(o.pending)} not analysed yet")
    return b.add(".").done() if b.parts else None


def plain_summary(results: QuestionResults) -> list[Sentence]:
    """A few sentences on the question: stance, its commonest themes, what fell outside.

    Every number is a :class:`Figure` from ``results`` (see the module's wording rules).
    """
    if not results.total:
        return [Sentence(("No responses to this question yet.",))]
    sentences: list[Sentence] = []
    if results.base:
        sentences += _stance_sentences(results)
        theme = _theme_sentence(results)
        if theme:
            sentences.append(theme)
    outcome = _outcome_sentence(results)
    if outcome:
        sentences.append(outcome)
    return sentences


__all__ = ["Figure", "Selection", "Sentence", "percent", "plain_summary", "quantifier"]
