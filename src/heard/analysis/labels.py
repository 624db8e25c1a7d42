"""Theme key phrases (class-based TF-IDF), short labels and descriptions.

Phrases are contiguous word runs taken from within one clause of a response, and
may neither start nor end with a stop word, so every phrase occurs in the texts as
written (up to case and spacing). Scores are class-based TF-IDF: the share of a
theme's responses that use the phrase (class term frequency), times the log of that
share over the phrase's share in the whole question (the class-level inverse
frequency), so phrases every theme uses score near zero. A phrase that is nearly always
cut out of the same longer wording (the same content word before it, or the same word
after it, as in "holders an exemption" from "blue badge holders an exemption for") is
a fragment and is passed over.

Labels are sentence openings from the answers (:func:`label_candidates`) that read as a
phrase to publish (:func:`publishable`), one per theme and never repeated across levels
(:func:`is_taken`); :func:`fallback_label` names a theme with none, and :func:`side_label`
is the one way a theme of one side says so ("Supporters: …" / "Opponents: …"). A parent
is named by what its children share (:func:`topic_label`): the things most of them talk
about, as the answers name them ("The filters and the queues"), not one member's point;
where they share nothing a label could name, there is no parent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

__all__ = [
    "FUNCTION_WORDS",
    "SIDE_NAMES",
    "SIDE_POSITIONS",
    "choose_label",
    "commonest_spelling",
    "describe",
    "fallback_label",
    "function_words",
    "is_taken",
    "key_phrases",
    "label_candidates",
    "label_side",
    "make_label",
    "publishable",
    "side_label",
    "side_language",
    "tokenize",
    "topic_label",
]

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# Clause and sentence breaks: phrases never straddle them.
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"\u201c\u201d\u2014\u2013|\n]+|\s-\s")
_EXTRA_STOP = frozenset(
    {
        "s",
        "t",
        "don",
        "doesn",
        "didn",
        "isn",
        "aren",
        "won",
        "can't",
        "don't",
        "it's",
        "i'm",
        "i've",
        "i'd",
        "that's",
        "there's",
        "they're",
        "we're",
    }
)
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP


# Words that, when they nearly always follow a phrase, show it was cut before its object.
_CONTINUATION = frozenset(
    "the a an to of for with at on in by from into my our their your his her its this that "
    "these those".split()
)


class FunctionWords(NamedTuple):
    """A language's words that never start or end a key phrase (``stop``) and, among them,
    those after which a phrase was cut before its object (``joining``: articles,
    prepositions, possessives, demonstratives)."""

    stop: frozenset[str]
    joining: frozenset[str]


def _words(joining: str, other: str) -> FunctionWords:
    """A :class:`FunctionWords` from two space-separated lists: the joining words and the
    rest (pronouns, conjunctions, auxiliaries, common adverbs)."""
    join = frozenset(joining.split())
    return FunctionWords(join | frozenset(other.split()), join)


# Function words by ISO 639-1 code, lower case as :func:`tokenize` splits them (elided
# forms such as "c'est" or "i'r" are one token). English is scikit-learn's list; the
# others are short lists of articles, pronouns, prepositions, conjunctions, auxiliaries
# and common adverbs. A language without a list falls back to :func:`function_words`'s rule.
FUNCTION_WORDS: dict[str, FunctionWords] = {
    "en": FunctionWords(STOP_WORDS, _CONTINUATION),
    "de": _words(
        "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem "
        "keiner mein meine meinen meinem meiner dein deine sein seine seinen seinem seiner "
        "ihr ihre ihren ihrem ihrer unser unsere unseren unserem unserer euer eure dies diese "
        "dieser dieses diesen diesem jede jeder jedes jeden jedem an am auf aus bei beim bis "
        "durch für gegen hinter in im ins mit nach neben ohne seit über um unter von vom vor "
        "während wegen zu zum zur zwischen",
        "ich du er sie es wir mich dich sich uns euch mir dir ihm ihn ihnen man was wer wie "
        "wo wann warum etwas nichts alles alle allen viel viele vielen mehr weniger andere "
        "anderen und oder aber denn dass daß weil wenn ob als sondern sowie bzw damit obwohl "
        "sodass bin bist ist sind seid war waren wäre wären gewesen habe hast hat haben habt "
        "hatte hatten hätte hätten gehabt werde wirst wird werden werdet wurde wurden würde "
        "würden worden kann kannst können könnte könnten muss musst müssen müsste sollte "
        "sollten soll sollen darf dürfen will wollen wollte möchte möchten mag gibt nicht auch "
        "noch nur schon sehr so dann da hier dort jetzt immer nie oft mal doch ja nein eben "
        "halt ganz gar wieder also etwa eher bereits sogar zudem außerdem dabei dafür dazu "
        "darauf daher deshalb deswegen trotzdem jedoch einfach wirklich eigentlich vielleicht "
        "bitte",
    ),
    "fr": _words(
        "le la les l un une des du de d au aux ce cet cette ces mon ma mes ton ta tes son sa "
        "ses notre nos votre vos leur leurs à dans par pour sur sous avec sans chez entre vers "
        "contre depuis pendant avant après selon d'un d'une jusqu'à",
        "je tu il elle on nous vous ils elles me te se lui y en moi toi eux qui que quoi dont "
        "où ça cela ceci celui celle ceux celles et ou mais donc or ni car si comme quand "
        "puisque lorsque parce est sont suis es sommes êtes été être était étaient serait "
        "seraient sera seront ai as a avons avez ont avait avaient aurait auraient avoir fait "
        "faire peut peuvent pourrait pourraient doit doivent devrait devraient faut ne n pas "
        "plus moins très trop aussi encore déjà toujours jamais souvent ici là alors puis non "
        "oui tout tous toute toutes même autre autres peu beaucoup assez vraiment surtout "
        "c'est n'est qu'il qu'elle qu'on qu'ils s'il l'on n'a n'y c'était n'ont qu'un qu'une "
        "j'ai",
    ),
    "es": _words(
        "el la los las lo un una unos unas al del mi mis tu tus su sus nuestro nuestra "
        "nuestros nuestras vuestro vuestra este esta estos estas ese esa esos esas aquel "
        "aquella a ante bajo con contra de desde durante en entre hacia hasta para por según "
        "sin sobre tras",
        "yo tú él ella ello nosotros nosotras vosotros ellos ellas usted ustedes me te se nos "
        "os le les esto eso que qué quien quién cual cuál cuyo donde dónde cuando cuándo como "
        "cómo y e o u ni pero sino porque pues si aunque mientras es son soy somos eres ser "
        "sido era eran fue fueron sería serían será está están estoy estar estaba estaban "
        "estado he has ha hemos han haber había habían habría hay puede pueden podría podrían "
        "debe deben debería deberían hacer hace no sí muy más menos también tampoco ya aún "
        "todavía siempre nunca aquí allí ahora entonces así tan tanto todo toda todos todas "
        "otro otra otros otras mucho mucha muchos muchas poco algo nada cada solo sólo",
    ),
    "nl": _words(
        "de het een 't mijn jouw zijn haar ons onze uw hun deze dit die dat aan achter bij "
        "binnen door in naar na naast om onder op over per sinds tegen tot tussen uit van voor "
        "met zonder",
        "ik jij je u hij zij ze wij we jullie hen mij me jou hem zich wat wie waar wanneer "
        "waarom hoe welk welke er en of maar want dus omdat als dan toen terwijl hoewel zodat "
        "is ben bent was waren wordt worden werd werden word geweest heb hebt heeft hebben had "
        "hadden zal zullen zou zouden kan kunnen kon konden moet moeten moest mag mogen wil "
        "willen wilde niet geen ook nog al wel erg heel zeer zo te toch nu hier daar altijd "
        "nooit vaak meer minder veel weinig alle alles iets niets elke ieder iedere andere "
        "ander even gewoon echt misschien alleen",
    ),
    "cy": _words(
        "y yr i o ar at am gan gyda heb dan trwy drwy wrth rhwng mewn yng ym dros tros tan "
        "hyd â ag efo ger fy dy ei ein eich eu i'r o'r a'r i'w gyda'r â'r efo'r hyn "
        "hynny hon hwn honno hwnnw",
        "fi ti e fe hi ni chi nhw hwy mi a ac neu ond os pan achos oherwydd felly fod bod mai "
        "taw na nag nad er yn mae yw ydy oes oedd roedd bydd byddai fydd fyddai sydd wedi ydw "
        "ydyn ydych dw dwi rwy rydw rydym rydyn rydych maen cael gall gallai dylai dylid "
        "gwneud mae'n sy'n yw'n dwi'n rwy'n ni'n chi'n nhw'n mae'r yw'r hefyd iawn mwy llai "
        "dim ddim nid yma yna nawr rŵan eto erioed byth rhy mor pob holl rhai llawer beth pwy "
        "pam sut ble",
    ),
}


def function_words(
    language: str | None, texts: Sequence[str] = (), *, share: float = 0.25, min_texts: int = 20
) -> FunctionWords:
    """The function words of ``language`` (an ISO 639-1 code; None reads as English).

    A language without a list in :data:`FUNCTION_WORDS` gets the English one plus the
    words at least ``share`` of ``texts`` use (when there are ``min_texts`` or more):
    there, such a word is far likelier a function word than what sets a theme apart.
    """
    known = FUNCTION_WORDS.get(language or "en")
    if known is not None:
        return known
    used: Counter[str] = Counter()
    for text in texts:
        used.update({t.lower() for t in _TOKEN.findall(text or "")})
    common = (
        {w for w, n in used.items() if n >= share * len(texts)} if len(texts) >= min_texts
        else set()
    )
    english = FUNCTION_WORDS["en"]
    return FunctionWords(english.stop | common, english.joining)


def tokenize(text: str) -> list[str]:
    """Word tokens of ``text`` as written (case kept)."""
    return _TOKEN.findall(text or "")


def _phrases(text: str, max_n: int, stop_words: frozenset[str]) -> list[str]:
    """All 1..max_n-grams inside clauses, lower-cased, not starting or ending on a stop word."""
    out: list[str] = []
    for clause in _BREAK.split(text or ""):
        toks = [t.lower() for t in _TOKEN.findall(clause)]
        ok = [t not in stop_words and not t.isdigit() and len(t) > 1 for t in toks]
        for i, first_ok in enumerate(ok):
            if not first_ok:
                continue
            for n in range(1, max_n + 1):
                j = i + n - 1
                if j >= len(toks):
                    break
                if ok[j]:
                    out.append(" ".join(toks[i : j + 1]))
    return out


def _fragments(
    texts: Sequence[str],
    candidates: set[str],
    max_n: int,
    words: FunctionWords,
    *,
    dominant: float = 0.7,
    min_seen: int = 3,
) -> set[str]:
    """Candidates nearly always seen with the same content word before, or word after, them."""
    left: dict[str, Counter[str]] = {p: Counter() for p in candidates}
    right: dict[str, Counter[str]] = {p: Counter() for p in candidates}
    seen: Counter[str] = Counter()
    for text in texts:
        for clause in _BREAK.split(text or ""):
            toks = [t.lower() for t in _TOKEN.findall(clause)]
            for i in range(len(toks)):
                for n in range(1, max_n + 1):
                    if i + n > len(toks):
                        break
                    p = " ".join(toks[i : i + n])
                    if p not in candidates:
                        continue
                    seen[p] += 1
                    if i > 0 and toks[i - 1] not in words.stop:
                        left[p][toks[i - 1]] += 1
                    if i + n < len(toks):
                        after = toks[i + n]
                        if after not in words.stop or after in words.joining:
                            right[p][after] += 1
    out = set()
    for p, total in seen.items():
        if total < min_seen:
            continue
        top = max(max(left[p].values(), default=0), max(right[p].values(), default=0))
        if top >= dominant * total:
            out.add(p)
    return out


def _surface_forms(texts: Sequence[str]) -> dict[str, str]:
    """Display form per lower-cased token: lower case if it ever occurs so, else most common."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_TOKEN.findall(text or ""))
    best: dict[str, tuple[bool, int, str]] = {}
    for form, c in counts.items():
        low = form.lower()
        # The lower-case form wins whenever it occurs (capitals may be sentence starts).
        cand = (form == low, c, form)
        if low not in best or cand[:2] > best[low][:2]:
            best[low] = cand
    return {low: form for low, (_, _, form) in best.items()}


def key_phrases(
    texts: Sequence[str],
    labels: Sequence[Hashable | None],
    top_n: int = 10,
    *,
    weights: Sequence[float] | None = None,
    max_ngram: int = 3,
    min_count: float = 2.0,
    longer_ratio: float = 0.6,
    language: str | None = None,
    fragment_sample: int = 400,
) -> dict[Hashable, list[str]]:
    """Top phrases per class by c-TF-IDF over 1..max_ngram-grams.

    ``labels`` gives each text's class (None = left out). ``weights`` count each
    text that many times (e.g. a duplicate group's size). A phrase needs a weighted
    document count of at least ``min_count`` in its class (relaxed for tiny classes).
    A longer phrase replaces a shorter one it contains when its score is at least
    ``longer_ratio`` times the shorter one's; contained phrases are otherwise skipped.
    Phrases neither start nor end on a function word of ``language`` (the answers' ISO
    639-1 code, see :func:`function_words`; None reads as English).
    Fragments (see the module docstring) are judged on the class's first
    ``fragment_sample`` texts, which bounds the cost (0 keeps them).
    """
    idx = [i for i, lab in enumerate(labels) if lab is not None]
    classes = sorted({labels[i] for i in idx}, key=lambda c: (str(type(c)), str(c)))
    if not idx:
        return {}
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=float)
    words = function_words(language, [texts[i] for i in idx])
    vec = CountVectorizer(
        analyzer=lambda t: _phrases(t, max_ngram, words.stop), binary=True, dtype=np.float64
    )
    try:
        x = vec.fit_transform([texts[i] for i in idx])
    except ValueError:  # no phrases at all (e.g. only stop words)
        return {c: [] for c in classes}
    vocab = vec.get_feature_names_out()
    col = {c: k for k, c in enumerate(classes)}
    rows = np.array([col[labels[i]] for i in idx])
    member = sparse.csr_matrix(
        (w[idx], (rows, np.arange(len(idx)))), shape=(len(classes), len(idx))
    )
    dfreq = np.asarray((member @ x).todense())  # weighted documents using each phrase, per class
    class_w = np.asarray(member.sum(axis=1)).ravel()
    tf = dfreq / np.maximum(class_w, 1e-12)[:, None]
    background = dfreq.sum(axis=0) / max(class_w.sum(), 1e-12)
    # Class share times its lift over the whole question: words every theme uses score ~0.
    scores = tf * np.log(np.maximum(tf, 1e-12) / np.maximum(background, 1e-12))
    forms = _surface_forms([texts[i] for i in idx])

    sample: dict[Hashable, list[str]] = {c: [] for c in classes}
    for i in idx:
        if len(sample[labels[i]]) < fragment_sample:
            sample[labels[i]].append(texts[i])

    out: dict[Hashable, list[str]] = {}
    for c, k in col.items():
        need = min(min_count, max(1.0, 0.5 * class_w[k]))
        order = np.argsort(-scores[k], kind="stable")
        chosen: list[tuple[str, float]] = []
        top = order[: max(200, 20 * top_n)]
        cut = _fragments(sample[c], {str(vocab[j]) for j in top}, max_ngram, words)
        top = [j for j in top if str(vocab[j]) not in cut] or top
        if not any(dfreq[k, j] >= need and scores[k, j] > 0 for j in top):
            need = 0.0  # nothing repeats: fall back to single occurrences
        for j in top:
            if dfreq[k, j] < need or scores[k, j] <= 0:
                continue
            p, s = str(vocab[j]), float(scores[k, j])
            padded = f" {p} "
            inside = [m for m, (q, _) in enumerate(chosen) if f" {q} " in padded]
            if any(padded in f" {q} " for q, _ in chosen):
                continue  # already covered by a longer chosen phrase
            if inside:
                if all(s >= longer_ratio * chosen[m][1] for m in inside):
                    first = inside[0]
                    chosen[first] = (p, max(s, chosen[first][1]))
                    for m in reversed(inside[1:]):
                        del chosen[m]
                continue
            chosen.append((p, s))
            if len(chosen) >= top_n:
                break
        out[c] = [" ".join(forms.get(t, t) for t in p.split()) for p, _ in chosen[:top_n]]
    return out


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# Words a label should neither start nor end with: adverbs, hedges and bare opinion verbs
# read badly at a label's edge ("Prevent and especially", "Sports and normalized").
_WEAK_EDGE = frozenset(
    {
        "especially",
        "particularly",
        "really",
        "also",
        "just",
        "simply",
        "probably",
        "definitely",
        "certainly",
        "clearly",
        "actually",
        "totally",
        "completely",
        "absolutely",
        "generally",
        "think",
        "feel",
        "believe",
        "agree",
        "disagree",
        "support",
        "oppose",
        "prevent",
        "normalized",
        "normalised",
        "need",
        "needs",
        "like",
        "want",
        "make",
        "makes",
        "made",
        "way",
        "thing",
        "things",
        "lot",
        "lots",
        "yes",
        "no",
        "hardly",
        "ok",
        "okay",
        "etc",
    }
)


# The adverbs and hedges among them, which no label opens on either.
_HEDGES = frozenset(
    "especially particularly really also just simply probably definitely certainly clearly "
    "actually totally completely absolutely generally hardly yes ok okay etc".split()
)

# A key phrase joining two fragments ("air and safe") is a pair, not a label.
_JOINING = frozenset("and or but nor und oder aber neu ond".split())


def _reads_well(phrase: str) -> bool:
    toks = phrase.lower().split()
    return (
        bool(toks)
        and toks[0] not in _WEAK_EDGE
        and toks[-1] not in _WEAK_EDGE
        and not _JOINING.intersection(toks[1:-1])
    )


def make_label(phrases: Sequence[str], max_words: int = 8) -> str:
    """A short label (at most ``max_words`` words) from ranked key phrases.

    Used when no sentence opening can be compared with the theme (no ``embed``). Phrases
    starting or ending with a weak edge word (an adverb, hedge or bare opinion verb) are
    passed over when others exist; the first multi-word phrase among the top five leads
    (else the top phrase). One phrase only: never "x and y" pairs of fragments.
    """
    phrases = [p.strip() for p in phrases if p and p.strip()]
    if not phrases:
        return "Unlabelled theme"
    phrases = [p for p in phrases if _reads_well(p)] or phrases
    lead = next((p for p in phrases[:5] if len(p.split()) > 1), phrases[0])
    return _capitalise(" ".join(lead.split()[:max_words]))


def describe(
    phrases: Sequence[str],
    central: str | None = None,
    *,
    n_phrases: int = 4,
) -> str:
    """One plain sentence: the theme's most typical sentence, as written but for a filler
    opening ("Plus", "I think that").

    Without one, what the theme's responses mention, from its key phrases.
    """
    if central and central.strip():
        sentence = " ".join(central.split())
        sentence = _LABEL_FILLER.sub("", sentence) or sentence
        sentence = _capitalise(sentence.strip("\"'\u201c\u201d "))
        return sentence if sentence[-1:] in ".!?" else sentence + "."
    ps = [p for p in phrases[:n_phrases] if p]
    if not ps:
        return "No description available."
    listed = ps[0] if len(ps) == 1 else ", ".join(ps[:-1]) + " and " + ps[-1]
    return f"Responses mentioning {listed}."


# Where a sentence is cut for a label: before a reason, a condition or a second point.
_LABEL_CUT = re.compile(
    r"\s*(?:[,;:(\u2014\u2013]|\s-\s|\b(?:because|as|since|so|which|who|but|although|"
    r"though|while|whereas|if|when|unless|due to|thus|therefore|and then|"
    r"weil|da|denn|aber|obwohl|wenn|damit|sodass|"
    r"parce que|car|mais|si|porque|pero|oherwydd|ond|os)\b)",
    re.IGNORECASE,
)
# Openings that carry no content: "I think", "In my opinion", "Yes,". "No", "well" and
# "so" count only before a break: "No more traffic" and "Well done to the council" keep them.
_LABEL_FILLER = re.compile(
    r"^(?:(?:yes|also|however|firstly|secondly|overall|personally|honestly|plus|and|"
    r"but|besides|moreover|furthermore|anyway|additionally|und|aber|auch)\b[\s,]*|"
    r"(?:no|well|so|ok|okay|ja|nein)\s*[,.!;:\u2014\u2013]+\s*|"
    r"(?:i|we) (?:(?:really|strongly|truly|do) )?(?:think|believe|feel|agree|disagree|would say)"
    r"(?: that)?\s+|"
    r"in my (?:opinion|view)[\s,]*|i'm (?:sure|certain) (?:that )?|it seems to me (?:that )?|"
    r"(?:to be (?:honest|frank)|frankly|for me|in short|ehrlich gesagt)\b[\s,]*)+",
    re.IGNORECASE,
)
_LABEL_WORD = re.compile(r"\S+")
# A label neither ends on a word that needs a continuation nor opens on a bare pronoun.
_LABEL_DANGLING = frozenset(
    "and or but nor the a an to of for with in on at by from than that is are was were be "
    "been isn't aren't wasn't can can't could should would will must not it its their our "
    "it's i'm we're they're that's there's he's she's you're "
    "those these this such do does did have has had being very into about like as "
    "und oder aber der die das ein eine zu von mit für ist sind nicht a'r neu y yr".split()
)
_LABEL_VAGUE_START = frozenset("this that it these those there".split())
# A sentence that only states a position ("I strongly agree", "Totally against it") says
# nothing a theme could be named after.
_POSITION_ONLY = re.compile(
    r"^(?:(?:i|we)(?:'m| am| are)?\s+)?(?:(?:very|really|strongly|totally|fully|completely|"
    r"absolutely|entirely|do|don't|do not)\s+)*(?:agree|disagree|support|oppose|object|"
    r"in favou?r|against)(?:\s+(?:with|of|to))?(?:\s+(?:it|this|that|them|the (?:idea|"
    r"proposals?|plans?|scheme|changes?)|this (?:idea|proposal|plan|scheme|change)))?$",
    re.IGNORECASE,
)


# A sentence about the respondent ("I'm a parent at …", "We moved here …") introduces them;
# it names no point a theme could be about.
_ABOUT_SELF = re.compile(
    r"^(?:(?:i|we)(?:'m| am|'re| are) (?:an? |retired\b|the (?:owner|parent)|parents? )|"
    r"(?:i|we)(?:'ve| have)? (?:(?:been )?(?:lived|living|moved|worked|working)|live|work|own|"
    r"run) |(?:i|we)(?:'ve| have) (?:got )?(?:an? |two |three |\d+ |young |small )|"
    r"(?:i|we) (?:look after|care for) |"
    r"(?:speaking|writing|responding) (?:for|as|on behalf of) |on behalf of |as an? |"
    r"ich (?:bin|wohne|arbeite) |wir (?:sind|wohnen) )",
    re.IGNORECASE,
)


# Words that open a noun phrase: a cut at "and" after "the scheme" ends on a whole object.
_DETERMINERS = frozenset(
    "the a an my our your their his her its this that these those all more less no "
    "der die das den dem des ein eine einen einem unser unsere mein meine".split()
)


def _first_point(words: list[str], min_words: int) -> list[str]:
    """``words`` up to the first "and"/"or" that follows a whole object ("Scrap the scheme
    and …"), not one joining two verbs of a point ("Neighbours stop and talk …")."""
    for k in range(min_words, len(words)):
        if words[k].lower() in _JOINING and _DETERMINERS.intersection(
            w.lower() for w in words[max(0, k - 3) : k - 1]
        ):
            return words[:k]
    return words

# A sentence about the response itself ("… appreciates the opportunity to comment", "Our
# submission addresses …") makes no point of its own.
_ABOUT_RESPONSE = re.compile(
    r"\b(?:(?:appreciates?|welcomes?|thanks?|thank you for|grateful for) the opportunity|"
    r"(?:this|our|my) (?:submission|response|comments?|letter)\b)",
    re.IGNORECASE,
)
# A letter's salutation or a line ending on a comma or colon ("CMS RFI Review Team,") heads
# the text; it makes no point.
_SALUTATION = re.compile(
    r"^(?:dear|to whom|hello|hi|greetings|re|subject|sehr geehrte[rn]?|liebe[rs]?|hallo)\b",
    re.IGNORECASE,
)


def label_candidates(text: str, *, min_words: int = 3, max_words: int = 8) -> list[str]:
    """Short phrases a label can be: each sentence's opening up to its first cut.

    Candidates are the text's own words, in order; filler openings ("I think that") are
    dropped and the first letter is capitalised. An opening over ``max_words`` keeps its
    first point, up to "and"/"or" ("Scrap the scheme and spend the money on …"). Passed
    over: questions, salutations and lines ending on a comma or colon, sentences that only
    state a position, introduce the respondent or speak of the response itself, and any
    opening that is not :func:`publishable`.
    """
    from heard.analysis.quotes import sentence_spans

    out: list[str] = []
    for a, b in sentence_spans(text or ""):
        sentence = _LABEL_FILLER.sub("", text[a:b].strip())
        if sentence.endswith(("?", ",", ":")) or _SALUTATION.match(sentence):
            continue  # a question asks, a salutation greets; a label says
        head = _LABEL_CUT.split(sentence, maxsplit=1)[0].strip(" .!?\"'\u201c\u201d")
        words = _LABEL_WORD.findall(head)
        if len(words) > max_words:  # too long: its first point, up to a joining word
            words = _first_point(words, min_words)
        while words and words[-1].lower() in _LABEL_DANGLING:
            words.pop()
        if words and words[0].lower() in _LABEL_VAGUE_START:
            continue
        head = " ".join(words)
        if any(p.search(head) for p in (_POSITION_ONLY, _ABOUT_SELF, _ABOUT_RESPONSE)):
            continue
        if min_words <= len(words) <= max_words and publishable(head):
            out.append(_capitalise(head))
    return out


def choose_label(
    candidates: Sequence[str],
    vectors: np.ndarray,
    centroid: np.ndarray,
    others: np.ndarray,
    *,
    taken: set[str] | None = None,
    distinct: float = 0.5,
) -> str | None:
    """The candidate closest to its theme and furthest from the others, not yet taken.

    Score: cosine to ``centroid`` minus ``distinct`` times the largest cosine to any row
    of ``others`` (the other themes' centroids); ties go to the shorter candidate. A
    candidate that :func:`is_taken` is skipped.
    """
    if not len(candidates):
        return None
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    score = v @ np.asarray(centroid, dtype=np.float64)
    if len(others):
        score = score - distinct * (v @ np.asarray(others, dtype=np.float64).T).max(axis=1)
    order = sorted(range(len(candidates)), key=lambda k: (-score[k], len(candidates[k]), k))
    taken = taken if taken is not None else set()
    for k in order:
        if not is_taken(candidates[k], taken):
            return candidates[k]
    return None


def _letters(label: str) -> str:
    return "".join(ch for ch in label.lower() if ch.isalnum())


_NEGATIONS = frozenset("not no never nor cannot nicht kein keine keinen nie".split())


def _negated(label: str) -> bool:
    words = [w.lower() for w in _TOKEN.findall(label)]
    return any(w in _NEGATIONS or w.endswith(("n't", "n\u2019t")) for w in words)


def is_taken(label: str, taken: set[str] | frozenset[str], *, similar: float = 0.9) -> bool:
    """Whether ``label`` repeats one in ``taken`` (lower-cased labels), up to case, spacing,
    punctuation and a typo (a character-level similarity of at least ``similar``); a
    negation is no typo ("We should not abandon it" is not "We should abandon it")."""
    key = _letters(label)
    if label.lower() in taken:
        return True
    negated = _negated(label)
    for other in taken:
        o = _letters(other)
        if _negated(other) != negated:
            continue  # "should not" is the other side, not a typo of "should"
        if o == key or (
            abs(len(o) - len(key)) <= 0.2 * max(len(o), len(key), 1)
            and SequenceMatcher(None, o, key).ratio() >= similar
        ):
            return True
    return False


def commonest_spelling(label: str, counts: Counter[str]) -> str:
    """Of the candidates that spell ``label`` alike (see :func:`is_taken`), the commonest.

    A typo in the answer nearest the centre ("passengesr") gives way to the spelling most
    answers use; ties keep ``label``. Alike means word for word: the same number of words,
    each that differs a typo of the other (``_typo``), so "Remove the planters" is never
    "Remove the filters".
    """
    n = len(_TOKEN.findall(label))
    alike = [  # the word count first: it rules out most candidates cheaply
        c for c in counts
        if len(_TOKEN.findall(c)) == n and _word_for_word(c, label)
        and is_taken(c, {label.lower()}, similar=0.8)
    ]
    return max(alike, key=lambda c: (counts[c], c == label), default=label)


def _typo(a: str, b: str, similar: float = 0.75) -> bool:
    """Whether two words differ by a typo: equal, or alike character for character."""
    return a == b or SequenceMatcher(None, a, b).ratio() >= similar


def _word_for_word(a: str, b: str) -> bool:
    wa, wb = _TOKEN.findall(a.lower()), _TOKEN.findall(b.lower())
    return len(wa) == len(wb) and all(_typo(x, y) for x, y in zip(wa, wb, strict=True))


def publishable(label: str) -> bool:
    """Whether ``label`` reads as a phrase an analyst could publish.

    Not: one word ("Na", "Great": it names no point), or an edge word that needs another
    (a hedge or bare opinion verb, as in "Hardly" or "Especially children", or a word
    that needs a continuation, as in "Done to the" or "Able to protect those"), or a
    sentence that lost its subject ("Would increase voter turnout").
    """
    words = [w.strip(".,;:!?\"'\u201c\u201d\u201e") for w in label.split()]
    low = [w.lower() for w in words if w]
    if len(low) < 2:
        return False
    first = low[1] if low[0] in ("no", "not") else low[0]  # "No more traffic" is a point
    return (
        first not in _HEDGES  # a verb may open ("Prevent new housing"), a hedge may not
        and low[-1] not in _WEAK_EDGE
        and low[-1] not in _LABEL_DANGLING
        and low[0] not in _NO_START
    )


# A label opening on one of these has lost its subject ("Would increase voter turnout").
_NO_START = frozenset(
    "and or but nor of is are was were be been can could should would will must than does "
    "do did has have had und oder aber ist sind".split()
)


def fallback_label(
    phrases: Sequence[str],
    quotes: Sequence[str] = (),
    *,
    taken: set[str] | frozenset[str] = frozenset(),
    max_quote_words: int = 6,
) -> str:
    """A label when no sentence opening was chosen (no ``embed``, or none left untaken).

    The first that is :func:`publishable` and not taken: an opening of two or more words
    of one of ``quotes`` (the theme's typical sentences, most typical first); a
    :func:`make_label` over the key phrases (dropping the leading one each time) that is
    no pair of fragments ("air and safe"). Else the
    first quote as written, cut to ``max_quote_words`` and in quotation marks (without
    one, the key-phrase label).
    """
    quotes = [" ".join(q.split()).strip(" .!?\"'\u201c\u201d") for q in quotes if q]
    openings = [
        c for q in quotes for c in label_candidates(q, min_words=2)
        if publishable(c) and not is_taken(c, taken)
    ]
    labels = [make_label(phrases[start:]) for start in range(len(phrases))]
    labels = [
        label for label in labels
        if publishable(label) and _reads_well(label) and not is_taken(label, taken)
    ]
    chosen = next(iter([*openings, *labels]), None)
    if chosen is not None:
        return chosen
    if not quotes or not quotes[0]:
        return make_label(phrases)
    words = quotes[0].split()
    kept = words[:max_quote_words]
    while len(kept) > 1 and kept[-1].lower().strip(",;:") in _LABEL_DANGLING:
        kept.pop()  # "A flag is mass produced…", not "… produced and…"
    cut = " ".join(kept).rstrip(",;:")
    more = "\u2026" if len(words) > max_quote_words else ""
    # single quotation marks: a sentence quoting the label ("“‘Hardly any’” was …") nests
    return f"\u2018{_capitalise(cut)}{more}\u2019"  # even if taken: words, not a fragment


# How a leaf split by side names its side: the respondents' stance on the proposal, read
# as "those who agree/disagree say …", never as agreement with the label's own words. The
# names are in the answers' language (the label is in their words); English otherwise.
SIDE_NAMES: dict[str, dict[int, str]] = {
    "en": {1: "Supporters", -1: "Opponents"},
    "de": {1: "Befürworter", -1: "Gegner"},
    "fr": {1: "Partisans", -1: "Opposants"},
    "es": {1: "Partidarios", -1: "Opositores"},
    "nl": {1: "Voorstanders", -1: "Tegenstanders"},
    "cy": {1: "Cefnogwyr", -1: "Gwrthwynebwyr"},
}
# How a codebook's position column names a side (the mapper reads it, see codebook_theme).
SIDE_POSITIONS = {1: "Agreement", -1: "Disagreement"}


def _side_prefix(label: str) -> tuple[int, str, str]:
    """(side, language, label without it) of a label :func:`side_label` made."""
    for language, names in SIDE_NAMES.items():
        for side, name in names.items():
            if label.startswith(f"{name}: "):
                return side, language, label[len(name) + 2 :]
    return 0, "", label


def label_side(label: str) -> tuple[int, str]:
    """(side, label without it) of a label :func:`side_label` made; side 0 for any other."""
    side, _, bare = _side_prefix(label)
    return side, bare


def side_language(label: str) -> str | None:
    """The language of the side a label names (see :data:`SIDE_NAMES`), None if none."""
    return _side_prefix(label)[1] or None


def side_label(label: str, side: int, language: str | None = None) -> str:
    """The label a reader sees for a theme of one side: "Supporters: …" / "Opponents: …",
    in ``language`` (an ISO 639-1 code) when :data:`SIDE_NAMES` has it, else in the
    language of a side the label already names, else in English.

    Any side the label already names is replaced, so relabelling keeps one prefix.
    """
    _, had, bare = _side_prefix(label)
    if not side:
        return bare
    names = SIDE_NAMES.get(language or "") or SIDE_NAMES.get(had) or SIDE_NAMES["en"]
    return f"{names[1 if side > 0 else -1]}: {bare}"


def _occurrences(texts: Sequence[str]) -> list[list[list[str]]]:
    """Each text's clauses as tokens, case kept (phrases never straddle a break)."""
    return [[_TOKEN.findall(c) for c in _BREAK.split(text or "")] for text in texts]


class _Use(NamedTuple):
    """One use of a phrase in a clause: the word before it, lower-cased ("" at a clause
    start, "^" when the phrase is capitalised mid-sentence, as "Harbour Road" or "Radweg"),
    and the word after it as written ("" at a clause end)."""

    before: str
    after: str
    written: str  # the phrase as written ("main road" or "main roads", "Radfahrer")


def _uses(clauses: list[list[str]], words: list[str]) -> list[_Use]:
    """Each use of ``words`` (lower case) in a text's clauses (tokens, case kept), the last
    word in the singular or the plural ("the main road", "the main roads")."""
    n = len(words)
    head = _singular(words[-1]) if words else ""
    out = []
    for toks in clauses:
        low = [t.lower() for t in toks]
        for i in range(len(low) - n + 1):
            if low[i : i + n - 1] == words[:-1] and _singular(low[i + n - 1]) == head:
                capital = i > 0 and all(t[:1].isupper() for t in toks[i : i + n])
                before = "^" if capital else low[i - 1] if i else ""
                after = toks[i + n] if i + n < len(toks) else ""
                out.append(_Use(before, after, " ".join(toks[i : i + n])))
    return out


def _capitalises_nouns(parsed: list[list[list[list[str]]]], share: float = 0.2) -> bool:
    """Whether the answers capitalise nouns (German): many words capitalised mid-sentence,
    each alone ("die Ampel"); a run of capitals is a name ("Harbour Road")."""
    inner = lone = 0
    for texts in parsed:
        for clauses in texts:
            for toks in clauses:
                caps = [False] + [t[:1].isupper() for t in toks[1:]] + [False]
                inner += len(toks) - 1
                lone += sum(caps[i] and not caps[i - 1] and not caps[i + 1]
                            for i in range(1, len(toks)))
    return lone > share * max(inner, 1)


# Nouns too general to name what a group of answers is about ("The right", "The world").
_VAGUE_NOUNS = frozenset(
    "right wrong world people person persons way ways thing things life lives hand hands end "
    "fact facts time times lot part idea ideas issue issues point points reason reasons case "
    "cases problem problems number kind sort place places one ones others everyone someone "
    "anyone everything something anything nothing leute menschen sache sachen dinge zeit "
    "teil grund fall".split()
)

# How the answers join two things, in their language: the commonest of these they use.
_AND = ("and", "und", "et", "y", "ac")

# Languages whose nouns are capitalised: a topic word there is one written so mid-sentence.
_NOUN_CASE = frozenset({"de", "lb"})
# Languages whose modifiers stand before the noun ("the main roads"): a word mostly followed
# by the same content word modifies it. Elsewhere ("la route principale") a noun is.
_MODIFIER_FIRST = frozenset({"en"})
# English words after which a word is said of something ("is fair", "too expensive"): an
# adjective, not a thing named. "more" and "less" are left out ("more traffic").
_PREDICATIVE = frozenset(
    "is are was were be been being isn't aren't wasn't weren't very too so quite really "
    "extremely fairly rather seem seems seemed".split()
)


def _singular(word: str) -> str:
    """A plural's rough singular ("roads" → "road"), so "the main road(s)" count as one."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


class _Topic(NamedTuple):
    covered: int  # children of which ``min_share`` of the answers use it
    used: float  # share of all the children's answers that use it
    order: int  # minus its rank among the parent's key phrases
    phrase: str
    children: frozenset[int]
    with_the: bool  # written after "the" in many uses


def _modified(uses: list[_Use], stop_words: frozenset[str], dominant: float = 0.5) -> str | None:
    """The word ``uses`` mostly stand before, when they modify it ("main" → "roads"): a
    content word after more than ``dominant`` of them, plurals counted with their singular.
    Its commonest spelling; None when the phrase is a thing named (a head), not a modifier."""
    after = Counter(
        _singular(u.after.lower()) for u in uses
        if u.after and u.after.lower() not in stop_words and not u.after.isdigit()
    )
    if not after:
        return None
    word, n = after.most_common(1)[0]
    if n <= dominant * len(uses):
        return None
    spelt = Counter(u.after.lower() for u in uses if _singular(u.after.lower()) == word)
    return spelt.most_common(1)[0][0]


def _topics(
    parsed: list[list[list[list[str]]]],
    rest: list[list[list[str]]],
    phrases: Sequence[str],
    stop_words: frozenset[str],
    *,
    noun_case: bool,
    modifier_first: bool,
    min_share: float,
    min_named: float,
    min_lift: float,
) -> list[_Topic]:
    """The phrases among ``phrases`` that name a thing several children talk about, more
    than the rest of the question does (see :func:`topic_label`)."""
    out: list[_Topic] = []
    seen: set[str] = set()
    queue = [(order, p.lower().split()) for order, p in enumerate(phrases) if p and p.strip()]
    while queue:
        order, words = queue.pop(0)
        phrase = " ".join(words)
        if phrase in seen:
            continue
        seen.add(phrase)
        if any(w in _WEAK_EDGE or w in stop_words or w.isdigit() for w in words):
            continue  # "money on fixing" is cut out of a sentence, not a thing named
        if _singular(words[-1]) in _VAGUE_NOUNS or words[-1] in _VAGUE_NOUNS:
            continue  # "the right", "the world": too general to say what they share
        hits = [[_uses(clauses, words) for clauses in texts] for texts in parsed]
        uses = [u for kid in hits for text in kid for u in text]
        if not uses:
            continue
        if modifier_first:
            head = _modified(uses, stop_words)
            if head is not None:  # "the main roads", not "the main"; "a fair election"
                queue.insert(0, (order, [*words, head]))
                continue
            content = sum(bool(u.after) and u.after.lower() not in stop_words for u in uses)
            if content > 0.75 * len(uses):
                continue  # before a noun nearly always, though not the same one ("bus")
            predicative = sum(u.before in _PREDICATIVE for u in uses)
            if predicative > 0.2 * len(uses):
                continue  # "is fair", "too expensive": said of a thing, not a thing
        before = Counter(u.before for u in uses)
        mid = len(uses) - before[""]  # uses not opening a clause, whose case says something
        if noun_case and len(words) == 1:  # a noun is capitalised where it stands ("Radweg")
            if before["^"] < 0.5 * mid or not mid:
                continue  # "neue" in "der neue Radweg" follows a determiner, but is no noun
        else:
            named = sum(c for w, c in before.items() if w in _DETERMINERS)
            place = before["^"] * 2 > len(uses)  # several words capitalised: a name
            if named < min_named * len(uses) or place:
                continue  # not a thing named, or a place's name ("Harbour Road")
        covered = frozenset(
            k for k, kid in enumerate(hits) if sum(map(bool, kid)) >= min_share * len(kid)
        )
        users = sum(bool(text) for kid in hits for text in kid)
        total = sum(len(kid) for kid in hits)
        if len(covered) < 2:
            continue  # one child's point
        share = users / max(total, 1)
        if rest:  # what sets the group apart: not the motion every answer names
            elsewhere = sum(bool(_uses(clauses, words)) for clauses in rest) / len(rest)
            if share < min_lift * elsewhere:
                continue
        # "the filters" when most uses say so; other determiners depend on the sentence
        with_the = before["the"] > 0.3 * len(uses)
        # as most write it inside a sentence: "the right" (not the key phrase's "rights")
        written = Counter(u.written for u in uses if u.before or len(uses) == before[""])
        out.append(_Topic(len(covered), share, -order, written.most_common(1)[0][0], covered,
                          with_the))
    return sorted(out, reverse=True)


def topic_label(
    children: Sequence[Sequence[str]],
    phrases: Sequence[str],
    *,
    taken: set[str] | frozenset[str] = frozenset(),
    language: str | None = None,
    rest: Sequence[str] = (),
    min_share: float = 0.2,
    min_named: float = 0.3,
    min_used: float = 0.2,
    min_lift: float = 1.5,
    sample: int = 300,
) -> str | None:
    """A parent's label: what its children talk about, from their own words; None when
    they share nothing a label could name honestly (the parent then stands down).

    ``children`` holds each child's answers, ``phrases`` the parent's key phrases (the
    words that set it apart from the other parents), ``rest`` the question's answers
    outside the parent and ``language`` their ISO 639-1 code (None: read from the texts).
    A phrase *covers* a child when at least ``min_share`` of that child's answers use it.
    It counts only when it is a thing the answers name, the head of a noun phrase:

    - at least ``min_named`` of its uses follow a determiner ("the filters", "a fair
      election"); a verb ("remove") never does, and a name capitalised mid-sentence
      ("Harbour Road") is no topic;
    - where nouns are capitalised (German, or answers that capitalise many words
      mid-sentence), it is written so in half the uses not opening a clause ("Radweg",
      not "neue");
    - in English, where a modifier stands before its noun, a word mostly followed by the
      same word modifies it: the pair is the topic ("the main roads", not "the main"); a
      word nearly always followed by some content word ("bus lane", "bus stops") or often
      said of something ("is fair", "too expensive") is no topic;
    - it is no noun too general to say what answers share ("the right", "people"), and
      the parent's answers use it at least ``min_lift`` times as often as ``rest`` do (the
      motion every answer names is no group's topic).

    The phrase covering most children leads, if it covers most of them (over half) and
    ``min_used`` of all their answers use it (ties: the one more answers use); a lone word
    is joined by the next such phrase named alike (both after "the", or neither) that
    covers a child it misses, or failing that the next one at all ("The filters and the
    queues"). Phrases as the answers write them, after "the" when many uses have it,
    joined by the answers' own word for "and". A label of one word is passed over (it
    names no topic), as is one :func:`is_taken`.
    """
    parsed = [_occurrences(list(texts)[:sample]) for texts in children]
    if len(parsed) < 2:
        return None
    need = len(parsed) // 2 + 1  # most of them
    noun_case = language in _NOUN_CASE if language else _capitalises_nouns(parsed)
    stop_words = function_words(
        language, [t for texts in children for t in list(texts)[:sample]] + list(rest)[: sample * 2]
    ).stop
    found = _topics(
        parsed, _occurrences(list(rest)[: sample * 2]), phrases, stop_words,
        noun_case=noun_case,
        modifier_first=not noun_case and (language or "en") in _MODIFIER_FIRST,
        min_share=min_share, min_named=min_named, min_lift=min_lift,
    )
    lead = [f for f in found if f.covered >= need and f.used >= min_used]
    joins = Counter(t.lower() for texts in parsed for clauses in texts for toks in clauses
                    for t in toks if t.lower() in _AND)
    join = joins.most_common(1)[0][0] if joins else "and"

    def name(topic: _Topic) -> str:
        return f"the {topic.phrase}" if topic.with_the else topic.phrase

    for first in lead:
        label = name(first)
        if len(first.phrase.split()) == 1:
            stems = {w[:4] for w in first.phrase.lower().split()}
            others = [  # another word, named alike ("the filters and the queues")
                f for f in found if f.with_the == first.with_the
                and not stems & {w[:4] for w in f.phrase.lower().split()}
            ]
            other = next((f for f in others if f.children - first.children),
                         others[0] if others else None)
            if other is not None:
                label = f"{label} {join} {name(other)}"
        label = _capitalise(label)
        if publishable(label) and not is_taken(label, taken):
            return label  # not one word: "Household" names no topic a reader can place
    return None
