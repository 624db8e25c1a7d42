"""Evidence-rich responses: data and figures, a source or study, lived or professional experience.

:func:`detect_evidence` is a transparent rule-based scorer: each cue found adds its
weight, the response is evidence-rich when the total reaches ``threshold``, and the
reason names the cues (with the matched words) so an analyst can check it.
:class:`EvidenceClassifier` adds a small learned layer on the same cues plus word
n-grams when labelled examples exist.

The cues hold no topic vocabulary. An acronym counts as a source only when written in
capitals and followed by a word for data ("ONS figures", "the WHO report"), so "who" or
"nhs" in ordinary text never match. A figure is a number with a unit, a period or a
countable noun ("12 minutes longer", "739 visits a week", "from 9 to 34"); a year, an
age, a house, bus or list number alone is not. Experience ("my son", "I work in …", "as
a nurse") counts; with ``experience_needs_specifics`` it counts only with specifics in the
same answer: a figure, a date, a duration or a frequency ("last winter", "for ten years",
"twice a week"). That reading is off by default: the development sets' gold labels
disagree on bare anecdotes (docs/evaluation.md, "Evidence-rich").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

#: What "evidence-rich" means, in one place for the offline cues and the LLM's instructions.
EVIDENCE_DEFINITION = (
    "cites data or figures, a named source or study, or the writer's own lived or "
    "professional experience with specifics (who, where, what happened); opinion, "
    "general claims and topic words alone are not evidence"
)


@dataclass(frozen=True)
class Cue:
    """One kind of evidence: a name for the reason, a pattern and a weight."""

    name: str
    pattern: re.Pattern[str]
    weight: float
    #: with ``experience_needs_specifics``: counts only when the same answer also holds
    #: specifics (a figure, date, period…)
    needs_specifics: bool = False
    #: a hit does not count when its sentence matches this (a figure inside a proposal)
    unless_in_sentence: re.Pattern[str] | None = None

    def hits(self, text: str) -> list[str]:
        """The matched words in ``text``, without those vetoed by their sentence."""
        out = []
        for m in self.pattern.finditer(text):
            if self.unless_in_sentence is not None:
                start = max(text.rfind(c, 0, m.start()) for c in _SENTENCE_ENDS) + 1
                ends = [i for c in _SENTENCE_ENDS if (i := text.find(c, m.end())) >= 0]
                if self.unless_in_sentence.search(text[start : min(ends, default=len(text))]):
                    continue
            out.append(m.group(0).strip())
        return out


_SENTENCE_ENDS = (". ", "! ", "? ", "\n")
# A figure the writer proposes rather than reports ("the limit should be 20 mph", "minimum
# wage needs to go to $15 per hour"), or the size of whom they speak for ("on behalf of
# our 1,500 members", "representing 2,400 physicians"): standing, not evidence.
_NOT_REPORTED = re.compile(
    r"\b(?:should|must|needs? to|ought to|shall|let's|we need|I will pay|"
    r"on behalf of|represent|represents|representing)\b",
    re.I,
)


_I = re.IGNORECASE
_NUMBER = r"\d[\d,.]*"
_NUM_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|a hundred|a dozen)"
)
_YEAR = r"(?:1[89]|20)\d\d"
# A quantity: digits that are not part of a longer token, a year, a phone number's later
# group, or a label ("number 47", "route 12", "flat 3", "question 2", "type 2", "#5").
_QTY = (
    r"(?<![\w#£$€.,/:-])(?<!\d )(?<!\d-)"
    r"(?<!number )(?<!no\. )(?<!route )(?<!bus )(?<!line )(?<!flat )(?<!room )(?<!page )"
    r"(?<!question )(?<!section )(?<!chapter )(?<!point )(?<!option )(?<!item )(?<!step )"
    r"(?<!unit )(?<!house )(?<!platform )(?<!junction )(?<!exit )(?<!gate )(?<!box )"
    r"(?<!version )(?<!type )(?<!title )(?<!phase )(?<!level )(?<!stage )(?<!tier )"
    r"(?<!grade )(?<!year )(?<!class )(?<!form )(?<!ward )(?<!zone )(?<!band )"
    rf"(?!{_YEAR}\b)\d+(?:[.,]\d+)*"
)
_PERIOD = r"(?:second|minute|hour|day|night|week|fortnight|month|year|morning|evening|shift)"
_TIME_UNIT = r"(?:seconds|secs|minutes|mins|hours|hrs|days|nights|weeks|months|years|yrs|decades)"
_MEASURE_UNIT = (
    r"(?:miles?|km|kms|kilomet(?:re|er)s?|met(?:re|er)s|feet|ft|yards|mph|km/h|kph|"
    r"kg|kilos?|kilograms?|grams?|tonnes?|tons?|lbs?|litres?|liters?|gallons?|ml|mg|"
    r"micrograms?|µg|μg|ug|ppm|ppb|db|decibels?|degrees|°[cf]?|kwh|kw|mw|acres?|hectares?|"
    r"pounds|dollars|euros|pence|cents|sq ?ft|square (?:feet|met(?:re|er)s|miles))"
)
# Plural words after a number that count nothing the writer observed: discourse ("3
# reasons"), periods (their own rule, which leaves out "in 5 years"), and verbs or
# adverbs ending in s ("1 was late").
_NOT_COUNTED = (
    rf"(?:{_TIME_UNIT}|{_MEASURE_UNIT}|{_PERIOD}|yr|olds|times|"
    r"reasons|points|things|ways|options|questions|issues|ideas|comments|proposals|suggestions|answers|words|steps|stars|sides|parts|"
    r"sections|pages|items|percent|is|was|has|does|goes|his|its|this|thus|us|as|yes|less|"
    r"unless|plus|across|always|perhaps|whereas|besides|towards|afterwards|sometimes|"
    r"of|or|and|to|in|on|at|for|per|a|an|the)"
)
_APPROX = r"(?:(?:about|around|roughly|approximately|nearly|almost|over|under|just|some) )?"
_DATA_WORD = (
    r"(?:data|figures?|statistics|stats|report|study|studies|research|survey|review|"
    r"analysis|guidance|evidence|estimates?|findings|census)"
)
_RECORDS = (
    r"(?:logs?|records|counts?|readings|measurements|monitoring|recordings|timings|diary|"
    r"diaries|surveys?|reports?|audits?|accounts?|statements?|data|figures|statistics|stats)"
)
_PEOPLE = (
    r"(?:son|daughter|child|children|kids?|baby|dad|father|mother|mum|mom|husband|wife|"
    r"partner|family|friends?|brother|sister|grand\w+|parents?|uncle|aunt|cousin|nephew|niece|"
    r"neighbou?rs?|patients?|clients?|customers?|students?|pupils?|colleagues?|staff|"
    r"members?|residents?|tenants?|employees?)"
)
_PLACES = (
    r"(?:club|team|school|business|company|firm|shop|practice|surgery|clinic|ward|"
    r"house|home|flat|street|road|village|town|job|work|marriage|savings|pension|"
    r"income|salary|rent|mortgage|bills?|doctor|gp|addiction|illness|condition|"
    r"diagnosis|disability|career)"
)
_ROLE = (
    r"(?:teacher|nurse|doctor|gp|midwife|carer|social worker|counsell?or|therapist|"
    r"psychologist|psychiatrist|pharmacist|paramedic|police (?:officer|constable)|officer|"
    r"engineer|lawyer|solicitor|barrister|judge|researcher|scientist|academic|lecturer|"
    r"professor|economist|accountant|architect|planner|surveyor|farmer|landlord|"
    r"(?:business|shop|restaurant|pub|small business) owner|owner|manager|director|"
    r"councillor|volunteer|employer|driver|cyclist|resident|parent|mother|father|"
    r"grandparent|patient|survivor|(?:recovering|former) \w+|ex-\w+)"
)
CUES: tuple[Cue, ...] = (
    Cue(
        "figure",
        re.compile(
            rf"(?:[£$€]\s?{_NUMBER}\s?(?:k|m|bn|million|billion)?\b"
            rf"|\b(?!100\s?(?:%|per))(?<![\d.,]){_NUMBER}\s?(?:%|per ?cent\b)"
            rf"|\b{_NUMBER}\s?(?:million|billion|thousand|hundred)\b"
            rf"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|{_NUMBER}) "
            rf"(?:in|out of) (?:every )?(?:{_NUMBER}|ten|five|four|three|hundred|thousand)\b"
            # a count per period: "739 visits a week", "3 times a day", "25 hours a week"
            rf"|{_QTY} (?:(?!{_PERIOD}\b)[a-z]+ ){{0,2}}(?:a|an|per|each|every) {_PERIOD}\b"
            # a change: "went from about 9 to 34 minutes", "from 1,430 to 300"
            rf"|\bfrom {_APPROX}{_QTY}(?: [a-z]+)? to {_APPROX}\d+(?:[.,]\d+)*"
            # a duration: "12 minutes longer", "an extra 20 minutes" (not "in 5 years", an age)
            rf"|(?<!\bin )(?<!within )(?<!next )(?<!every ){_QTY}\s?{_TIME_UNIT}\b"
            rf"(?!\s?old\b|-old\b|['’]s? time\b)"
            # a measurement: "40 micrograms", "3 miles", "60 dB"
            rf"|{_QTY}\s?{_MEASURE_UNIT}(?!\w)"
            # a count: a whole number (not a version "2.0") and a lowercase plural (not an
            # address "21701 Stevens Creek"): "392 cyclists", "14,070 penalty charge notices"
            rf"|(?!1 ){_QTY}(?<!\.\d)(?<!\.\d\d) (?:(?!{_NOT_COUNTED}\b)[a-z]+ ){{0,2}}"
            rf"(?!{_NOT_COUNTED}\b)(?-i:[a-z]+[^\Ws]s|people|children|men|women)\b)",
            _I,
        ),
        1.0,
        unless_in_sentence=_NOT_REPORTED,
    ),
    Cue(
        "source",
        re.compile(
            rf"(?:https?://\S+|\bwww\.\S+|\bet al\b"
            rf"|\b(?i:according to) (?:(?i:the|a|recent|latest|new) )?"
            rf"(?:[A-Z]\w*|(?i:\w+ {_DATA_WORD}))"
            rf"|\b(?i:(?:a|the|one|recent|new|published|\d{{4}}) "
            rf"(?:study|studies|research|survey|report|review|analysis|trial|paper)"
            rf"(?: \w+){{0,6}} (?:shows?|showed|shown|found|finds|suggests?|suggested"
            rf"|indicates?|indicated|concluded|estimates?|estimated))\b"
            rf"|\b(?i:(?:studies|research|evidence|data|statistics|figures) "
            rf"(?:shows?|showed|show|found|suggests?|indicates?))\b"
            # records with a reporting verb: "our delivery logs show", "counts show",
            # "readings from my own monitor … show", "the monitoring report shows"
            rf"|\b(?i:{_RECORDS}(?: (?:from|of|by|on|at|for|in)(?: [\w'’]+){{1,7}})? "
            rf"(?:shows?|showed|shown|recorded|reveals?|revealed|confirms?|confirmed))\b"
            rf"|\b(?i:published (?:in|by))\b"
            # an acronym's data: "the WHO report", "ONS figures show" (capitals only)
            rf"|\b(?i:the|a|an|recent|latest|new) [A-Z]{{2,6}}s?(?: \w+)? (?i:{_DATA_WORD})\b"
            rf"|\b[A-Z]{{2,6}}s?(?: \w+)? (?i:{_DATA_WORD}) (?i:shows?|showed|found|finds"
            rf"|suggests?|suggested|indicates?|estimates?|estimated|says?|said)\b"
            rf"|\b(?i:(?:study|report|research|survey|data|figures) (?:by|from)) (?:the )?"
            rf"(?:University|Institute|Journal|Office|Department|Ministry|Commission"
            rf"|Agency|Bureau|Centre|Center) (?:of|for) [A-Z]\w+)"
        ),
        1.0,
    ),
    Cue(
        "lived experience",
        re.compile(
            rf"(?:\bmy (?:\w+ ){{0,2}}(?:{_PEOPLE}|{_PLACES})\b"
            rf"|\bmy {_NUMBER}-year-old\b"
            rf"|\bI(?:'ve| have)? (?:work|worked|been working|volunteer|volunteered) "
            rf"(?:in|as|at|for|with)\b"
            rf"|\bI (?:run|ran|own|owned|manage|managed) an? \w+"
            rf"|\b(?:as|I am|I'm|I was) an? (?:\w+ ){{0,2}}{_ROLE}\b(?! for a)"
            rf"|\bin my (?:\d+|\w+) years (?:as|in|of)\b"
            rf"|\bin my (?:experience|work|job|practice|role|profession|career)\b"
            rf"|\b(?:I|we) lost (?:my|our)\b|^\W*lost my\b"
            rf"|\bI (?:have )?(?:seen|watched|witnessed) (?:first-?hand|many|how|my)\b)",
            _I,
        ),
        1.0,
        needs_specifics=True,
    ),
)

#: Names in :func:`evidence_cues` that carry no weight of their own.
SPECIFICS = "specifics"
NO_SPECIFICS = "without specifics"


# Specifics that make experience evidence besides a figure: a date, a period, a duration
# or a frequency ("in 2019", "last winter", "for ten years", "twice a week").
_SPECIFICS = re.compile(
    rf"(?:\b(?:in|since|during|until|till|from|by|early|late|mid|spring|summer|autumn|"
    rf"winter|january|february|march|april|may|june|july|august|september|october|"
    rf"november|december) (?:of )?{_YEAR}\b"
    rf"|\b(?:last|this past) (?:{_PERIOD}|winter|summer|spring|autumn|christmas|weekend|"
    rf"term|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    rf"|\b(?:a|an|{_NUM_WORD}|\d+) {_PERIOD}s? ago\b"
    rf"|\bfor (?:(?:the )?(?:last|past) )?(?:over |about |nearly |almost |more than )?"
    rf"(?:{_NUM_WORD}|\d+|an?) (?:years?|months?|weeks?|days?|hours?|decades?)\b"
    rf"|\b(?:the )?(?:last|past) (?:{_NUM_WORD}|\d+) (?:years|months|weeks|days)\b"
    rf"|\b(?:{_NUM_WORD}|\d+) (?:minutes|hours|days|weeks|months|years) "
    rf"(?:later|longer|late|early|ago|waiting)\b"
    rf"|\b(?:took|waited|wait of|spent|lasted) (?:over |about |nearly |almost )?"
    rf"(?:{_NUM_WORD}|an?|\d+) (?:minutes?|hours?|days?|weeks?|months?)\b"
    rf"|\b(?:once|twice|(?:{_NUM_WORD}|\d+) times) (?:a|an|per|each|every) {_PERIOD}\b)",
    _I,
)


def evidence_cues(
    text: str, *, experience_needs_specifics: bool = False
) -> dict[str, list[str]]:
    """Cue name → the matched words in ``text`` (only cues that matched).

    With ``experience_needs_specifics``, experience without specifics is kept under
    "… without specifics" (no weight), and the specifics that let it count under
    ``SPECIFICS``, so the reason shows both.
    """
    found: dict[str, list[str]] = {}
    for cue in CUES:
        hits = cue.hits(text or "")
        if hits:
            found[cue.name] = hits
    if not experience_needs_specifics:
        return found
    specifics = [m.group(0).strip() for m in _SPECIFICS.finditer(text or "")]
    for cue in CUES:
        if not cue.needs_specifics or cue.name not in found:
            continue
        if "figure" in found:
            continue
        if specifics:
            found[SPECIFICS] = specifics
        else:  # context, not evidence: "my children", "as a resident"
            found[f"{cue.name} {NO_SPECIFICS}"] = found.pop(cue.name)
    return found


def _reason(found: dict[str, list[str]]) -> str:
    if not found:
        return "no figures, sources or lived experience found"
    return "; ".join(
        f"{name}: " + ", ".join(repr(h) for h in hits[:2]) for name, hits in found.items()
    )


def detect_evidence(
    texts: Sequence[str], *, threshold: float = 1.0, experience_needs_specifics: bool = False
) -> list[tuple[bool, str]]:
    """(evidence_rich, reason) per text: rich when the cue weights found reach ``threshold``.

    ``experience_needs_specifics``: lived or professional experience counts only with a
    figure, date, period, duration or frequency in the same answer (off by default).
    """
    weights = {c.name: c.weight for c in CUES}
    out: list[tuple[bool, str]] = []
    for text in texts:
        found = evidence_cues(text, experience_needs_specifics=experience_needs_specifics)
        score = sum(weights.get(name, 0.0) for name in found)
        out.append((score >= threshold, _reason(found)))
    return out


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """(n, number of cues) counts of each cue, log-scaled."""
    out = np.zeros((len(texts), len(CUES)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, cue in enumerate(CUES):
            out[i, j] = len(cue.hits(text or ""))
    return np.log1p(out)


class EvidenceClassifier(BaseEstimator):
    """Learned evidence flag from labelled examples: cues ⊕ word n-gram TF-IDF.

    ``predict`` returns the same (flag, reason) pairs as :func:`detect_evidence`; the
    reason still names the cues found, and says when the flag came from wording alone.
    """

    def __init__(self, *, seed: int = 0, C: float = 1.0, cue_weight: float = 2.0) -> None:
        self.seed = seed
        self.C = C
        self.cue_weight = cue_weight

    def _features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack(
            [sparse.csr_matrix(cue_matrix(texts) * self.cue_weight), self.tfidf_.transform(texts)],
            format="csr",
        )

    def fit(self, texts: Sequence[str], labels: Sequence[bool]) -> EvidenceClassifier:
        """Learn from texts and their evidence-rich flags."""
        if not float(self.C) > 0:
            raise ValueError(f"C must be positive, got {self.C!r}")
        if float(self.cue_weight) < 0:
            raise ValueError(f"cue_weight must be ≥ 0, got {self.cue_weight!r}")
        texts = ["" if t is None else str(t) for t in texts]
        y = np.asarray(labels, dtype=bool)
        if len(y) != len(texts):
            raise ValueError(f"{len(y)} labels for {len(texts)} texts")
        if len(set(y.tolist())) < 2:
            raise ValueError("EvidenceClassifier.fit needs both evidence-rich and other examples")
        self.tfidf_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(texts)
        self.model_ = LogisticRegression(
            C=self.C, max_iter=2000, class_weight="balanced", random_state=self.seed
        ).fit(self._features(texts), y)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each text is evidence-rich."""
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This EvidenceClassifier is not fitted yet: call fit(texts, labels) first."
            )
        return self.model_.predict_proba(self._features(list(texts)))[:, 1]

    def predict(self, texts: Sequence[str]) -> list[tuple[bool, str]]:
        """(evidence_rich, reason) per text."""
        texts = list(texts)
        out: list[tuple[bool, str]] = []
        for text, p in zip(texts, self.predict_proba(texts), strict=True):
            found = evidence_cues(text)
            reason = _reason(found) if found else f"wording like evidence-rich examples (p={p:.2f})"
            out.append((bool(p >= 0.5), reason if p >= 0.5 or found else _reason(found)))
        return out
