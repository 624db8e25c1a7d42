"""Read and validate a folder in the evaluation layout.

The layout (see ``docs/evaluation.md``)::

    questions.csv            question_id,text
    responses.csv            response_id,question_id,text[,attribute columns…]
    codebook.csv             question_id,theme,label,description[,more columns]
    gold_themes.csv          response_id,question_id,theme[,more columns]
    gold_stance.csv          response_id,question_id,stance
    gold_evidence_rich.csv   response_id,question_id,evidence_rich   (YES/NO)
    gold_campaigns.csv       response_id,campaign_id[,question_id]

A response is identified by ``(question_id, response_id)``: the same response id may
appear under several questions (one respondent answering each question).

Integrity errors fail with :class:`DatasetError`, listing the first few offenders: a
missing file or column, a duplicate response, an unknown question, an unknown response,
a theme not in the codebook, an unreadable YES/NO. Benign oddities (blank gold cells,
repeated identical gold rows, questions without responses) become warnings that are
printed and written to the JSON output.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from heard.analysis.closed import closed_answers, follows_up, options_stance

Key = tuple[str, str]  # (question_id, response_id)

FILES: dict[str, str] = {
    "questions": "questions.csv",
    "responses": "responses.csv",
    "codebook": "codebook.csv",
    "gold_themes": "gold_themes.csv",
    "gold_stance": "gold_stance.csv",
    "gold_evidence": "gold_evidence_rich.csv",
    "gold_campaigns": "gold_campaigns.csv",
}

COLUMNS: dict[str, tuple[str, ...]] = {
    "questions": ("question_id", "text"),
    "responses": ("response_id", "question_id", "text"),
    "codebook": ("question_id", "theme", "label"),
    "gold_themes": ("response_id", "question_id", "theme"),
    "gold_stance": ("response_id", "question_id", "stance"),
    "gold_evidence": ("response_id", "question_id", "evidence_rich"),
    "gold_campaigns": ("response_id", "campaign_id"),
}

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_SHOW = 5  # offenders listed per problem

csv.field_size_limit(1 << 30)


class DatasetError(ValueError):
    """The folder does not follow the evaluation layout, or its gold files disagree."""


@dataclass(frozen=True)
class CodebookTheme:
    """One theme of a question's codebook."""

    question_id: str
    theme: str
    label: str
    description: str = ""
    position: str | None = None  # e.g. "Agreement", when the codebook has that column


@dataclass
class EvalDataset:
    """The responses of a labelled consultation and whichever gold files were loaded.

    Response ``i`` is ``keys[i]`` with text ``texts[i]``; gold mappings are keyed by
    ``(question_id, response_id)`` and hold only the responses that have a gold row.
    """

    path: Path
    name: str
    questions: dict[str, str]
    keys: list[Key]
    texts: list[str]
    attributes: list[dict[str, str]]
    codebook: dict[str, list[CodebookTheme]] = field(default_factory=dict)
    gold_themes: dict[Key, set[str]] | None = None
    gold_stance: dict[Key, str] | None = None
    #: each stance label as written in the gold file → agree / disagree / unclear
    stance_mapping: dict[str, str] = field(default_factory=dict)
    gold_evidence: dict[Key, bool] | None = None
    gold_campaigns: dict[Key, str] | None = None
    warnings: list[str] = field(default_factory=list)
    #: closed questions (options, not free text) -> why; not scored, their gold rows skipped
    closed: dict[str, str] = field(default_factory=dict)
    #: an open answer's stance from the tick of the closed question it follows up (as
    #: ``heard import`` pairs them), read as weak labels the way ``heard analyse`` reads them
    weak: dict[Key, str] = field(default_factory=dict)

    @property
    def question_ids(self) -> list[str]:
        """Question ids that have responses, in questions.csv order."""
        present = {q for q, _ in self.keys}
        return [q for q in self.questions if q in present]

    def rows(self, question_id: str) -> list[int]:
        """Indices of the responses to one question."""
        return [i for i, (q, _) in enumerate(self.keys) if q == question_id]

    def themes_of(self, i: int) -> set[str]:
        """Gold themes of response ``i`` (empty when it has no gold_themes row)."""
        if self.gold_themes is None:
            raise DatasetError("gold_themes.csv was not loaded")
        return self.gold_themes.get(self.keys[i], set())


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file (UTF-8 or a detected encoding; , ; or tab)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise DatasetError(f"{path.name}: cannot tell the text encoding") from None
        text = str(best)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    return header, rows


def _problem(message: str, items: list[str]) -> str:
    """``message`` with the first offenders and their count."""
    shown = ", ".join(items[:_SHOW])
    more = f" (and {len(items) - _SHOW} more)" if len(items) > _SHOW else ""
    return f"{message} ({len(items)}): {shown}{more}"


def _line(n: int) -> str:
    """Row ``n`` of a table as a file line number (the header is line 1)."""
    return f"line {n + 2}"


class _Loader:
    """Reads the files one by one, collecting errors and warnings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def table(self, kind: str, *, required: bool) -> list[dict[str, str]] | None:
        name = FILES[kind]
        file = self.path / name
        if not file.is_file():
            if required:
                self.errors.append(f"{name} is missing from {self.path}")
            return None
        header, rows = read_table(file)
        missing = [c for c in COLUMNS[kind] if c not in header]
        if missing:
            self.errors.append(
                f"{name}: missing column(s) {', '.join(missing)}; found: {', '.join(header)}"
            )
            return None
        return rows

    def fail_if_errors(self) -> None:
        if self.errors:
            lines = "\n  - ".join(self.errors)
            raise DatasetError(f"The evaluation folder {self.path} has problems:\n  - {lines}")


def load_dataset(
    path: str | Path, *, needs: Iterable[str] = (), question: str | None = None
) -> EvalDataset:
    """Read ``path``; ``needs`` names the gold files required (keys of :data:`FILES`).

    ``codebook.csv`` is read whenever present (to check gold theme names against it).
    ``question`` keeps only that question's responses and gold rows.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder")
    needs = set(needs)
    unknown = needs - set(FILES)
    if unknown:
        raise ValueError(f"unknown gold file kind(s): {sorted(unknown)}")
    loader = _Loader(path)

    question_rows = loader.table("questions", required=False)
    response_rows = loader.table("responses", required=True)
    gold_tables = {
        kind: loader.table(kind, required=kind in needs)
        for kind in ("codebook", "gold_themes", "gold_stance", "gold_evidence", "gold_campaigns")
        if kind in needs or kind == "codebook"
    }
    loader.fail_if_errors()
    assert response_rows is not None

    # questions: from questions.csv, else from the responses
    questions: dict[str, str] = {}
    if question_rows is not None:
        for row in question_rows:
            questions.setdefault(row["question_id"], row["text"])
    else:
        for row in response_rows:
            questions.setdefault(row["question_id"], "")
    weak = _paired_ticks(questions, response_rows)
    if question is not None:
        if question not in questions:
            raise DatasetError(
                f"--question {question!r} is not in {FILES['questions']}; "
                f"known: {', '.join(questions) or 'none'}"
            )
        questions = {question: questions[question]}
        response_rows = [r for r in response_rows if r["question_id"] == question]

    keys: list[Key] = []
    texts: list[str] = []
    attributes: list[dict[str, str]] = []
    seen: set[Key] = set()
    duplicates: list[str] = []
    unknown_q: list[str] = []
    for n, row in enumerate(response_rows):
        key = (row["question_id"], row["response_id"])
        if not row["response_id"]:
            loader.errors.append(f"{FILES['responses']}: empty response_id on {_line(n)}")
            continue
        if key[0] not in questions:
            unknown_q.append(f"{key[0]!r} ({_line(n)})")
            continue
        if key in seen:
            duplicates.append(f"{key[1]} in {key[0]}")
            continue
        seen.add(key)
        keys.append(key)
        texts.append(row["text"])
        attributes.append({k: v for k, v in row.items() if k not in COLUMNS["responses"]})
    if unknown_q:
        loader.errors.append(
            _problem(f"{FILES['responses']}: question_id not in questions.csv", unknown_q)
        )
    if duplicates:
        loader.errors.append(_problem(f"{FILES['responses']}: duplicate response", duplicates))
    if not keys and not loader.errors:
        loader.errors.append(f"{FILES['responses']} has no responses")
    closed = _closed_questions(keys, texts)
    if closed:
        if question is not None:
            raise DatasetError(
                f"--question {question!r} is a closed question ({closed[question]}); "
                "heard evaluate scores open questions only"
            )
        kept = [i for i, key in enumerate(keys) if key[0] not in closed]
        keys, texts, attributes = ([seq[i] for i in kept] for seq in (keys, texts, attributes))
        loader.warnings.append("closed questions skipped (their answers are options, not free "
                               "text): " + ", ".join(f"{q} ({why})" for q, why in closed.items()))
    empty_questions = [q for q in questions if q not in {k[0] for k in keys} | set(closed)]
    if empty_questions and question is None:
        loader.warnings.append(_problem("questions with no responses", empty_questions))

    data = EvalDataset(
        path=path,
        name=path.name,
        questions=questions,
        keys=keys,
        texts=texts,
        attributes=attributes,
        warnings=loader.warnings,
        closed=closed,
        weak={key: label for key, label in weak.items() if key[0] in questions},
    )
    if gold_tables.get("codebook") is not None:
        data.codebook = _read_codebook(gold_tables["codebook"], data, loader, question)
    if gold_tables.get("gold_themes") is not None:
        data.gold_themes = _read_gold_themes(gold_tables["gold_themes"], data, loader, question)
    if gold_tables.get("gold_stance") is not None:
        data.gold_stance = _read_single(
            "gold_stance",
            "stance",
            gold_tables["gold_stance"],
            data,
            loader,
            question,
            parse=lambda v: _parse_stance(v, data.stance_mapping),
            expected="a stance (agree/disagree/unclear, support/oppose, for/against, pro/con, "
            "yes/no)",
        )
    if gold_tables.get("gold_evidence") is not None:
        data.gold_evidence = _read_single(
            "gold_evidence",
            "evidence_rich",
            gold_tables["gold_evidence"],
            data,
            loader,
            question,
            parse=_parse_yes_no,
            expected="YES or NO",
        )
    if gold_tables.get("gold_campaigns") is not None:
        data.gold_campaigns = _read_campaigns(gold_tables["gold_campaigns"], data, loader, question)
    if "codebook" in needs and not any(data.codebook.get(q) for q in data.question_ids):
        loader.errors.append(f"{FILES['codebook']} has no theme for the questions evaluated")
    loader.fail_if_errors()
    return data


def _paired_ticks(questions: dict[str, str], rows: list[dict[str, str]]) -> dict[Key, str]:
    """Each open answer's stance from the same respondent's tick on the closed question just
    before it, where the open one follows it up ("Please explain why"): the pairing and the
    reading of ``heard import`` and ``heard analyse``."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        answers[row["question_id"]][row["response_id"]] = (row["text"] or "").strip()
    order = list(questions)
    out: dict[Key, str] = {}
    for before, after in zip(order, order[1:], strict=False):
        ticks = answers.get(before, {})
        said = [v for v in answers.get(after, {}).values() if v]
        if (not ticks or not closed_answers([v for v in ticks.values() if v])
                or not said or closed_answers(said) or not follows_up(questions[after])):
            continue
        for rid in answers.get(after, {}):
            label = options_stance([ticks[rid]] if ticks.get(rid) else [])
            if label:
                out[(after, rid)] = label
    return out


def _closed_questions(keys: list[Key], texts: list[str]) -> dict[str, str]:
    """Questions whose answers read as a closed question's options, with the reason."""
    answers: dict[str, list[str]] = defaultdict(list)
    for (qid, _), text in zip(keys, texts, strict=True):
        answers[qid].append(text)
    return {q: why for q, values in answers.items() if (why := closed_answers(values))}


def _gold_key(
    kind: str,
    n: int,
    row: dict[str, str],
    data: EvalDataset,
    known: set[Key],
    unknown_q: list[str],
    unknown_r: list[str],
    question: str | None,
) -> Key | None:
    """The row's response key, or None (recorded as unknown, or outside ``question``)."""
    key = (row["question_id"], row["response_id"])
    if (question is not None and key[0] != question) or key[0] in data.closed:
        return None
    if key[0] not in data.questions:
        unknown_q.append(f"{key[0]!r} ({_line(n)})")
        return None
    if key not in known:
        unknown_r.append(f"{key[1]} in {key[0]} ({_line(n)})")
        return None
    return key


def _report_unknown(kind: str, loader: _Loader, unknown_q: list[str], unknown_r: list[str]) -> None:
    name = FILES[kind]
    if unknown_q:
        loader.errors.append(_problem(f"{name}: unknown question_id", unknown_q))
    if unknown_r:
        loader.errors.append(
            _problem(f"{name}: response not in responses.csv for that question", unknown_r)
        )


def _read_codebook(
    rows: list[dict[str, str]], data: EvalDataset, loader: _Loader, question: str | None
) -> dict[str, list[CodebookTheme]]:
    out: dict[str, list[CodebookTheme]] = defaultdict(list)
    unknown_q: list[str] = []
    repeated: list[str] = []
    for n, row in enumerate(rows):
        qid, theme = row["question_id"], row["theme"]
        if (question is not None and qid != question) or qid in data.closed:
            continue
        if qid not in data.questions:
            unknown_q.append(f"{qid!r} ({_line(n)})")
            continue
        if not theme:
            loader.errors.append(f"{FILES['codebook']}: empty theme on {_line(n)}")
            continue
        if any(t.theme == theme for t in out[qid]):
            repeated.append(f"{theme} in {qid}")
            continue
        out[qid].append(
            CodebookTheme(
                qid,
                theme,
                row["label"] or theme,
                row.get("description", ""),
                row.get("position") or None,
            )
        )
    if unknown_q:
        loader.errors.append(_problem(f"{FILES['codebook']}: unknown question_id", unknown_q))
    if repeated:
        loader.errors.append(_problem(f"{FILES['codebook']}: theme listed twice", repeated))
    return dict(out)


def _read_gold_themes(
    rows: list[dict[str, str]], data: EvalDataset, loader: _Loader, question: str | None
) -> dict[Key, set[str]]:
    known = set(data.keys)
    has_codebook = bool(data.codebook)
    themes_by_q = {q: {t.theme for t in ts} for q, ts in data.codebook.items()}
    out: dict[Key, set[str]] = defaultdict(set)
    unknown_q: list[str] = []
    unknown_r: list[str] = []
    unknown_t: list[str] = []
    blank = 0
    for n, row in enumerate(rows):
        key = _gold_key("gold_themes", n, row, data, known, unknown_q, unknown_r, question)
        if key is None:
            continue
        theme = row["theme"]
        if not theme:
            blank += 1
            continue
        if has_codebook and theme not in themes_by_q.get(key[0], set()):
            unknown_t.append(f"{theme!r} in {key[0]} ({_line(n)})")
            continue
        out[key].add(theme)
    _report_unknown("gold_themes", loader, unknown_q, unknown_r)
    if unknown_t:
        loader.errors.append(
            _problem(
                f"{FILES['gold_themes']}: theme not in codebook.csv for its question", unknown_t
            )
        )
    if blank:
        loader.warnings.append(f"{FILES['gold_themes']}: {blank} row(s) with a blank theme ignored")
    return dict(out)


def _parse_yes_no(value: str) -> bool:
    v = value.casefold()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(value)


def _read_single(
    kind: str,
    column: str,
    rows: list[dict[str, str]],
    data: EvalDataset,
    loader: _Loader,
    question: str | None,
    *,
    parse,
    expected: str,
) -> dict:
    """One label per response (stance, evidence); blanks are unlabelled, conflicts fail."""
    known = set(data.keys)
    out: dict = {}
    unknown_q: list[str] = []
    unknown_r: list[str] = []
    bad: list[str] = []
    conflicts: list[str] = []
    blank = 0
    for n, row in enumerate(rows):
        key = _gold_key(kind, n, row, data, known, unknown_q, unknown_r, question)
        if key is None:
            continue
        if not row[column]:
            blank += 1
            continue
        try:
            value = parse(row[column])
        except ValueError:
            bad.append(f"{row[column]!r} ({_line(n)})")
            continue
        if key in out and out[key] != value:
            conflicts.append(f"{key[1]} in {key[0]}")
        out[key] = value
    _report_unknown(kind, loader, unknown_q, unknown_r)
    name = FILES[kind]
    if bad:
        loader.errors.append(_problem(f"{name}: {column} is not {expected}", bad))
    if conflicts:
        loader.errors.append(_problem(f"{name}: response with conflicting labels", conflicts))
    if blank:
        loader.warnings.append(f"{name}: {blank} row(s) with a blank {column} are not scored")
    return out


def _parse_stance(value: str, mapping: dict[str, str]) -> str:
    """agree / disagree / unclear for a stance label as written; records the mapping."""
    from heard.analysis.closed import normalise_stance

    label = normalise_stance(value)
    if label is None:
        raise ValueError(value)
    mapping[value.strip()] = label
    return label


def _read_campaigns(
    rows: list[dict[str, str]], data: EvalDataset, loader: _Loader, question: str | None
) -> dict[Key, str]:
    """Campaign id per response; without a question_id column, response ids must be unique."""
    by_response: dict[str, list[Key]] = defaultdict(list)
    for key in data.keys:
        by_response[key[1]].append(key)
    known = set(data.keys)
    out: dict[Key, str] = {}
    unknown_q: list[str] = []
    unknown_r: list[str] = []
    ambiguous: list[str] = []
    for n, row in enumerate(rows):
        if row.get("question_id"):
            key = _gold_key("gold_campaigns", n, row, data, known, unknown_q, unknown_r, question)
            if key is None:
                continue
        else:
            matches = by_response.get(row["response_id"], [])
            if len(matches) > 1:
                ambiguous.append(f"{row['response_id']} ({_line(n)})")
                continue
            if not matches:
                if question is None:
                    unknown_r.append(f"{row['response_id']} ({_line(n)})")
                continue
            key = matches[0]
        if row["campaign_id"]:
            out[key] = row["campaign_id"]
    _report_unknown("gold_campaigns", loader, unknown_q, unknown_r)
    if ambiguous:
        loader.errors.append(
            _problem(
                f"{FILES['gold_campaigns']}: response_id used by several questions; "
                "add a question_id column",
                ambiguous,
            )
        )
    return out
