"""Work out what a table holds: its shape, the export it came from, and each column's role.

The result is an :class:`ImportPlan`, which :func:`iter_rows` turns into respondents and
answers while the rows stream past. Nothing here touches the store.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from heard.analysis.closed import FOLLOWUP_WORDS, closed_answers
from heard.io.errors import InputError
from heard.io.mapping import Mapping, check_mapping_columns
from heard.io.readers import Table, read_tables, sha256_file
from heard.io.report import ValidationReport

SAMPLE_ROWS = 2000
KEY_MAX = 200

ID_NAMES = {
    "id", "response id", "responseid", "response_id", "respondent id", "respondent_id",
    "respondentid", "respondent", "participant id", "participant_id", "uuid", "submission id",
    "record id", "unique id",
}
DEMOGRAPHIC_WORDS = (
    "age", "gender", "sex", "region", "country", "state", "county", "city", "town", "postcode",
    "post code", "zip", "ethnic", "disabilit", "health condition", "organisation", "organization",
    "company", "sector", "occupation", "income", "education", "religion", "location",
    "do you live in", "where do you live", "respondent type", "responding as",
    "type of respondent", "on behalf", "category", "industry", "role",
)
PERSONAL_NAMES = (
    "email", "e-mail", "first name", "last name", "surname", "full name", "your name",
    "phone", "telephone", "address", "ipaddress", "ip address",
)
METADATA_NAMES = {
    "startdate", "enddate", "status", "progress", "duration (in seconds)", "finished",
    "recordeddate", "recipientlastname", "recipientfirstname", "recipientemail",
    "externalreference", "locationlatitude", "locationlongitude", "distributionchannel",
    "userlanguage", "timestamp", "datetime", "date", "submitted", "submission date",
    "start date", "end date", "completed", "created", "modified",
}
LONG_RESPONDENT = ("respondent_id", "respondent", "participant_id", "participant", "user_id",
                   "author_id", "response_id")
LONG_QUESTION = ("question_id", "question", "question_key")
LONG_TEXT = ("text", "answer", "response", "response_text", "answer_text", "comment")
LONG_RESPONSE_KEY = ("answer_id", "response_id", "comment_id")
REGULATIONS_COLUMNS = {"Document ID", "Document Type", "Comment", "Tracking Number"}
POLIS_COLUMNS = {"comment-id", "author-id", "comment-body"}
# Other files of a Polis export: votes, not answers.
POLIS_VOTE_FILES = {
    "participants-votes.csv": {"participant", "n-votes", "n-agree"},
    "votes.csv": {"voter-id", "vote", "comment-id"},
}


@dataclass
class ColumnProfile:
    """What a sample of the column looks like."""

    name: str
    non_empty: int = 0
    distinct: int = 0
    mean_length: float = 0.0
    samples: list[str] = field(default_factory=list)


@dataclass
class ColumnPlan:
    """The role of one column: id | open | closed | demographic | kind | organisation | ignore."""

    name: str
    role: str
    reason: str
    question_key: str = ""
    question_text: str = ""
    paired_with: str | None = None  # question key of the closed question this follows
    profile: ColumnProfile | None = None


@dataclass
class LongSpec:
    """Long form: a row per answer."""

    respondent: str
    text: str
    question: str | None = None
    response_key: str | None = None
    fixed_question: tuple[str, str] | None = None  # (key, text) when the file has one question
    question_texts: dict[str, str] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)  # -> Respondent.attributes
    source_columns: list[str] = field(default_factory=list)  # -> Response.source


@dataclass
class TablePlan:
    table: Table
    shape: str  # "wide" | "long"
    export: str  # generic | qualtrics | citizen space | polis | regulations.gov | evaluation
    columns: list[ColumnPlan]
    id_column: str | None = None
    kind_column: str | None = None
    organisation_column: str | None = None
    long: LongSpec | None = None
    keep_rows: tuple[str, frozenset[str], str] | None = None  # (column, kept values, why others go)
    kind_rule: str = "column"  # "column" | "regulations"

    def questions(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.role in ("open", "closed")]

    def demographics(self) -> list[ColumnPlan]:
        return [c for c in self.columns if c.role in ("demographic", "kind", "organisation")]


@dataclass
class SourceFile:
    path: Path
    sha256: str
    format: str


@dataclass
class ImportPlan:
    sources: list[SourceFile]
    tables: list[TablePlan]
    mapping: Mapping | None = None

    @property
    def fingerprint(self) -> str:
        """sha256 over the source files' own hashes, in a stable order."""
        digest = hashlib.sha256()
        for sha in sorted(s.sha256 for s in self.sources):
            digest.update(sha.encode())
        return digest.hexdigest()


@dataclass
class RespondentInfo:
    key: str
    kind: str = "unknown"
    organisation: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Answer:
    question: str
    text: str
    options: list[str]
    response_key: str
    source: dict


# --- profiling and column roles -------------------------------------------------------------


def question_key(name: str) -> str:
    """A key that fits the store (questions, respondents): shortened with a hash when too
    long, so distinct long ids stay distinct."""
    name = name.strip()
    if len(name) <= KEY_MAX:
        return name
    return name[: KEY_MAX - 11] + "…" + hashlib.sha1(name.encode()).hexdigest()[:10]


def profile_table(table: Table, sample_rows: int = SAMPLE_ROWS) -> dict[str, ColumnProfile]:
    """Counts over the first ``sample_rows`` rows of each column."""
    profiles = {name: ColumnProfile(name) for name in table.columns}
    distinct: list[set[str]] = [set() for _ in table.columns]
    lengths = [0] * len(table.columns)
    for count, (_, cells) in enumerate(table.rows()):
        if count >= sample_rows:
            break
        for index, value in enumerate(cells):
            value = value.strip()
            if not value:
                continue
            profile = profiles[table.columns[index]]
            profile.non_empty += 1
            lengths[index] += len(value)
            if value not in distinct[index]:
                distinct[index].add(value)
                if len(profile.samples) < 3:
                    profile.samples.append(value[:40])
    for index, name in enumerate(table.columns):
        profile = profiles[name]
        profile.distinct = len(distinct[index])
        profile.mean_length = lengths[index] / profile.non_empty if profile.non_empty else 0.0
    return profiles


_STEMS = ("disabilit", "ethnic", "organi", "occupation", "religio", "educat")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?.*)?$")


def _has_word(name: str, words: tuple[str, ...]) -> bool:
    """Whether a whole word (or a listed stem) from ``words`` appears in ``name``."""
    lowered = name.lower()
    for word in words:
        tail = "" if word.startswith(_STEMS) else r"(?![a-z])"
        if re.search(rf"(?<![a-z]){re.escape(word)}{tail}", lowered):
            return True
    return False


def classify_column(profile: ColumnProfile, header_text: str = "") -> tuple[str, str]:
    """(role, reason) for one column from its name and its sample."""
    name = profile.name
    lowered = name.lower().strip()
    text = f"{name} {header_text}".strip()
    if profile.non_empty == 0:
        return "ignore", "empty in the sample"
    if lowered in ID_NAMES and profile.distinct > profile.non_empty // 2:
        unique = profile.distinct == profile.non_empty
        return "id", "id name, unique values" if unique else "id name (some ids repeat)"
    if lowered in METADATA_NAMES:
        return "ignore", "survey metadata"
    if profile.samples and all(_DATE.match(sample) for sample in profile.samples):
        return "ignore", "dates and times"
    if _has_word(lowered, PERSONAL_NAMES):
        return "ignore", "personal contact details (not imported)"
    is_kind = ("individual" in text.lower() and "organi" in text.lower()) or _has_word(
        lowered, ("respondent type", "responding as", "type of respondent", "on behalf")
    )
    if is_kind and profile.distinct <= 10:
        return "kind", "says individual or organisation"
    if _has_word(lowered, ("organisation name", "organization name", "name of organisation",
                            "name of organization", "company name")):
        return "organisation", "organisation name"
    if _has_word(lowered, DEMOGRAPHIC_WORDS) and profile.mean_length < 60:
        return "demographic", "demographic name"
    if (
        header_text
        and _has_word(header_text, DEMOGRAPHIC_WORDS)
        and profile.mean_length < 30
        and profile.distinct <= max(12, profile.non_empty // 20)
    ):
        return "demographic", "demographic question text"
    few_options = profile.distinct <= max(12, profile.non_empty // 20)
    if profile.mean_length >= 40:
        return "open", f"long text (mean {profile.mean_length:.0f} characters)"
    if few_options and profile.distinct < profile.non_empty:
        return "closed", f"{profile.distinct} distinct values"
    if profile.mean_length >= 15:
        return "open", f"varied text (mean {profile.mean_length:.0f} characters)"
    if profile.distinct == profile.non_empty and profile.non_empty > 1 and " " not in "".join(
        profile.samples
    ):
        return "ignore", "unique short codes"
    return "closed", f"{profile.distinct} distinct short values"


def attribute_role(name: str) -> str:
    """kind | organisation | demographic, for a respondent attribute column of a long table."""
    lowered = name.lower().strip()
    says_kind = ("individual" in lowered and "organi" in lowered) or _has_word(
        lowered, ("respondent type", "responding as", "type of respondent", "on behalf")
    )
    if says_kind:
        return "kind"
    if lowered in ("organisation", "organization") or _has_word(
        lowered, ("organisation name", "organization name", "name of organisation",
                  "name of organization", "company name")
    ):
        return "organisation"
    return "demographic"


def answers_role(answers: list[str]) -> tuple[str, str]:
    """(closed | open, reason) for one question's answers in a long table."""
    values = [a.strip() for a in answers if a and a.strip()]
    if not values:
        return "open", "no answers"
    reason = closed_answers(values)
    if reason:
        return "closed", reason
    return "open", f"free text (mean {sum(len(v) for v in values) / len(values):.0f} characters)"


def _pair_followups(columns: list[ColumnPlan]) -> None:
    """An open column right after a closed one, asking why/explain/comments, follows it."""
    for before, after in zip(columns, columns[1:], strict=False):
        if before.role != "closed" or after.role != "open" or after.paired_with:
            continue
        same_stem = after.name.lower().startswith(before.name.lower() + "_")
        if FOLLOWUP_WORDS.search(after.question_text) or same_stem:
            after.paired_with = before.question_key


# --- the plan as the user sees it ----------------------------------------------------------

#: Every role a column of a wide table can have, as the upload preview names it.
ROLE_LABELS: dict[str, str] = {
    "open": "Open question (free text)",
    "closed": "Closed question (options)",
    "demographic": "Respondent detail",
    "kind": "Respondent type (individual or organisation)",
    "organisation": "Organisation name",
    "id": "Respondent id",
    "ignore": "Ignore",
}


def plan_problems(plan: ImportPlan) -> list[str]:
    """What makes a plan unusable, in words that say what to choose instead."""
    problems = []
    for table in plan.tables:
        if table.shape == "wide" and not table.questions():
            problems.append(
                f"{table.table.label}: no column is read as a question. Choose at least one "
                "column as an open or a closed question."
            )
        column = next((c for c in table.columns if c.role == "id" and c.reason == "mapping"),
                      None)
        if column and column.profile and column.profile.distinct < column.profile.non_empty:
            problems.append(
                f"{table.table.label}: the id column {column.name} repeats values "
                f"({column.profile.distinct} distinct in {column.profile.non_empty} rows read). "
                "Choose a column with one value per respondent, or Ignore it and the rows "
                "are numbered."
            )
    return problems


def role_problems(roles: dict[str, str]) -> list[str]:
    """Roles chosen for the columns (column -> role) that name a one-column role twice."""
    problems = []
    for role in ("id", "kind", "organisation"):
        chosen = [name for name, r in roles.items() if r == role]
        if len(chosen) > 1:
            problems.append(f"{len(chosen)} columns are chosen as “{ROLE_LABELS[role]}” "
                            f"({', '.join(chosen)}). Choose one.")
    return problems


# --- plans per export ------------------------------------------------------------------------


def _apply_mapping(plan: TablePlan, mapping: Mapping) -> None:
    by_name = {c.name: c for c in plan.columns}
    if mapping.id:
        for column in plan.columns:
            if column.role == "id":
                column.role, column.reason = "ignore", "another id chosen by the mapping"
        by_name[mapping.id].role, by_name[mapping.id].reason = "id", "mapping"
    for name, role in mapping.columns.items():
        by_name[name].role, by_name[name].reason = role, "mapping"
    if mapping.kind:
        by_name[mapping.kind].role, by_name[mapping.kind].reason = "kind", "mapping"
    if mapping.organisation:
        column = by_name[mapping.organisation]
        column.role, column.reason = "organisation", "mapping"
    for name, text in mapping.questions.items():
        by_name[name].question_text = text
    for open_name, closed_name in mapping.pairs.items():
        by_name[open_name].paired_with = by_name[closed_name].question_key
        if by_name[open_name].role != "open" or by_name[closed_name].role != "closed":
            raise InputError(
                f"[pairs] links {open_name!r} to {closed_name!r}, but a pair needs an open "
                f"column and a closed one (they are {by_name[open_name].role} and "
                f"{by_name[closed_name].role})",
                file=mapping.path,
                column=open_name,
                hint="Set their types in [columns].",
            )


def _finish_wide(plan: TablePlan) -> TablePlan:
    ids = [c.name for c in plan.columns if c.role == "id"]
    if len(ids) > 1:
        for column in plan.columns:
            if column.role == "id" and column.name != ids[0]:
                column.role, column.reason = "ignore", "a second id column"
    plan.id_column = ids[0] if ids else None
    kinds = [c.name for c in plan.columns if c.role == "kind"]
    plan.kind_column = kinds[0] if kinds else None
    organisations = [c.name for c in plan.columns if c.role == "organisation"]
    plan.organisation_column = organisations[0] if organisations else None
    return plan


def plan_wide(table: Table, mapping: Mapping | None, export: str = "generic") -> TablePlan:
    profiles = profile_table(table)
    columns = []
    for name in table.columns:
        header_text = table.header_texts.get(name, "")
        role, reason = classify_column(profiles[name], header_text)
        columns.append(
            ColumnPlan(
                name=name,
                role=role,
                reason=reason,
                question_key=question_key(name),
                question_text=header_text or name,
                profile=profiles[name],
            )
        )
    plan = TablePlan(table=table, shape="wide", export=export, columns=columns)
    _pair_followups(columns)
    if mapping:
        _apply_mapping(plan, mapping)
    return _finish_wide(plan)


def plan_regulations(table: Table, mapping: Mapping | None) -> TablePlan:
    """regulations.gov: `Comment` is the answer; notices are not comments."""
    profiles = profile_table(table)
    roles = {
        "Document ID": ("id", "regulations.gov document id"),
        "Comment": ("open", "regulations.gov comment text"),
        "Organization Name": ("organisation", "regulations.gov submitter organisation"),
        "State/Province": ("demographic", "regulations.gov submitter"),
        "Country": ("demographic", "regulations.gov submitter"),
        "City": ("demographic", "regulations.gov submitter"),
        "Category": ("demographic", "regulations.gov submitter category"),
        "Government Agency Type": ("demographic", "regulations.gov submitter"),
    }
    columns = []
    for name in table.columns:
        role, reason = roles.get(name, ("ignore", "regulations.gov metadata"))
        profile = profiles[name]
        if role == "demographic" and profile.non_empty == 0:
            role, reason = "ignore", "empty"
        text = "Comment" if name == "Comment" else name
        columns.append(ColumnPlan(name, role, reason, question_key(name.lower()) if name ==
                                  "Comment" else question_key(name), text, profile=profile))
    plan = TablePlan(
        table=table,
        shape="wide",
        export="regulations.gov",
        columns=columns,
        keep_rows=("Document Type", frozenset({"Public Submission"}),
                   "not a public comment (Document Type is {value!r}, e.g. the agency's notice)"),
        kind_rule="regulations",
    )
    if mapping:
        _apply_mapping(plan, mapping)
    return _finish_wide(plan)


POLIS_SOURCE = ("agrees", "disagrees", "moderated", "timestamp", "datetime")


def _polis_topic(path: Path) -> str:
    summary = path.parent / "summary.csv"
    if summary.exists():
        try:
            with summary.open(encoding="utf-8", newline="") as handle:
                for row in csv.reader(handle):
                    if len(row) >= 2 and row[0] == "topic" and row[1].strip():
                        return row[1].strip()
        except (OSError, UnicodeDecodeError, csv.Error):
            pass
    return "Comments"


def plan_polis(table: Table) -> TablePlan:
    """Polis comments.csv: one open question; author = respondent; comment-id = answer key."""
    spec = LongSpec(
        respondent="author-id",
        text="comment-body",
        response_key="comment-id",
        fixed_question=("comments", _polis_topic(table.file)),
        source_columns=[c for c in POLIS_SOURCE if c in table.columns],
    )
    columns = [
        ColumnPlan("author-id", "id", "Polis participant"),
        ColumnPlan("comment-id", "id", "Polis comment id (answer key)"),
        ColumnPlan("comment-body", "open", "Polis comment", "comments", spec.fixed_question[1]),
    ] + [ColumnPlan(c, "source", "kept in each answer's source") for c in spec.source_columns]
    return TablePlan(table=table, shape="long", export="polis", columns=columns, long=spec)


def _first(columns: list[str], names: tuple[str, ...], exclude: str | None = None) -> str | None:
    lowered = {c.lower().replace("-", "_").replace(" ", "_"): c for c in columns}
    for name in names:
        if name in lowered and lowered[name] != exclude:
            return lowered[name]
    return None


def plan_long(
    table: Table,
    mapping: Mapping | None,
    export: str = "generic",
    question_texts: dict[str, str] | None = None,
) -> TablePlan | None:
    """A long table (a row per answer), or None when the columns do not say so."""
    columns = table.columns
    if mapping and mapping.long:
        respondent, question = mapping.long["respondent"], mapping.long["question"]
        text, response_key = mapping.long["text"], mapping.long.get("response")
    else:
        respondent = _first(columns, LONG_RESPONDENT)
        question = _first(columns, LONG_QUESTION)
        text = _first(columns, LONG_TEXT)
        response_key = _first(columns, LONG_RESPONSE_KEY)
        if not (respondent and question and text):
            return None
    used = {respondent, question, text, response_key}
    profiles = profile_table(table)
    attributes, plans = [], []
    for name in columns:
        if name in used:
            continue
        role, reason = classify_column(profiles[name])
        if mapping and name in mapping.columns:
            role, reason = mapping.columns[name], "mapping"
        if role == "ignore" and reason != "mapping" and reason.startswith("personal"):
            plans.append(ColumnPlan(name, "ignore", reason, profile=profiles[name]))
            continue
        if role == "ignore":
            plans.append(ColumnPlan(name, "ignore", reason, profile=profiles[name]))
            continue
        attributes.append(name)
        plans.append(ColumnPlan(name, "demographic", "respondent attribute in a long table",
                                question_key(name), name, profile=profiles[name]))
    spec = LongSpec(
        respondent=respondent,
        text=text,
        question=question,
        response_key=response_key,
        question_texts=question_texts or {},
        attributes=attributes,
    )
    head = [
        ColumnPlan(respondent, "id", "respondent id", profile=profiles.get(respondent)),
        ColumnPlan(question, "question", "question id", profile=profiles.get(question)),
        ColumnPlan(text, "open", "answer text", profile=profiles.get(text)),
    ]
    if response_key and response_key != respondent:
        head.append(ColumnPlan(response_key, "id", "answer id", profile=profiles.get(response_key)))
    return TablePlan(table=table, shape="long", export=export, columns=head + plans, long=spec)


def _read_question_texts(path: Path) -> dict[str, str]:
    tables = read_tables(path)
    table = tables[0]
    for needed in ("question_id", "text"):
        if needed not in table.columns:
            raise InputError(
                f"questions.csv has no {needed!r} column",
                file=path,
                row=1,
                hint="The evaluation layout's questions.csv has the columns question_id,text.",
            )

    key_index, text_index = table.columns.index("question_id"), table.columns.index("text")
    return {cells[key_index].strip(): cells[text_index].strip() for _, cells in table.rows()}


def plan_table(table: Table, mapping: Mapping | None) -> TablePlan:
    """The plan for one table, from its export signature, the mapping, or detection."""
    if mapping:
        check_mapping_columns(mapping, table.columns, table.label)
    names = set(table.columns)
    if mapping and mapping.shape == "long":
        plan = plan_long(table, mapping)
        assert plan is not None
        return plan
    if POLIS_COLUMNS <= names and not mapping:
        return plan_polis(table)
    for polis_file, signature in POLIS_VOTE_FILES.items():
        if signature <= names and not mapping:
            raise InputError(
                f"this is a Polis {polis_file} (how each participant voted on each comment), "
                "not the answers themselves",
                file=table.label,
                row=1,
                hint="Import comments.csv from the same Polis export, or the export folder "
                "itself; Heard reads the comments as the answers.",
            )
    if REGULATIONS_COLUMNS <= names:
        return plan_regulations(table, mapping)
    if table.export == "qualtrics":
        return plan_wide(table, mapping, "qualtrics")
    if not (mapping and mapping.shape == "wide"):
        plan = plan_long(table, mapping)
        if plan is not None:
            return plan
    export = "citizen space" if "Response ID" in names else "generic"
    return plan_wide(table, mapping, export)


def plan_import(paths: list[Path], mapping: Mapping | None = None) -> ImportPlan:
    """Read the headers and a sample of every input, and plan the import."""
    sources: list[SourceFile] = []
    tables: list[TablePlan] = []
    for path in paths:
        if path.is_dir():
            questions_file, responses_file = path / "questions.csv", path / "responses.csv"
            if not responses_file.exists():
                raise InputError(
                    "this folder is not in the evaluation layout: responses.csv is missing",
                    file=path,
                    hint="Pass the data file itself, or a folder with questions.csv and "
                    "responses.csv.",
                )
            for file in (questions_file, responses_file):
                if file.is_symlink():
                    raise InputError("this is a symbolic link; links are not followed",
                                     file=file, hint="Copy the file itself into the folder.")
            texts = _read_question_texts(questions_file) if questions_file.exists() else {}
            for file in (questions_file, responses_file):
                if file.exists():
                    sources.append(SourceFile(file, sha256_file(file), "csv"))
            table = read_tables(responses_file)[0]
            if mapping:
                check_mapping_columns(mapping, table.columns, table.label)
            plan = plan_long(table, mapping, "evaluation", texts)
            if plan is None:
                raise InputError(
                    "responses.csv needs the columns response_id, question_id and text",
                    file=responses_file,
                    row=1,
                    hint="See the evaluation layout in the data README.",
                )
            tables.append(plan)
            continue
        file_tables = read_tables(path)
        sources.append(SourceFile(path, sha256_file(path), file_tables[0].format))
        tables.extend(plan_table(table, mapping) for table in file_tables)
    return ImportPlan(sources=sources, tables=tables, mapping=mapping)


# --- rows -> respondents and answers ---------------------------------------------------------

_KIND_WORDS = (
    ("organisation", ("organi", "business", "company", "charity", "group", "behalf", "body",
                      "association", "council", "authority")),
    ("individual", ("individual", "myself", "personal", "member of the public", "citizen",
                    "resident", "private")),
)


def kind_from_text(value: str) -> str:
    """individual | organisation | unknown, from a 'responding as' answer."""
    lowered = value.lower()
    if "individual" in lowered and "organi" not in lowered:
        return "individual"
    for kind, words in _KIND_WORDS:
        if any(word in lowered for word in words):
            return kind
    return "unknown"


def _regulations_kind(cells: dict[str, str]) -> str:
    if cells.get("Organization Name", "").strip():
        return "organisation"
    category = cells.get("Category", "").strip().lower()
    if category == "individual" or cells.get("First Name", "").strip():
        return "individual"
    if category:
        return "organisation"
    return "unknown"


def _missing_column(plan: TablePlan, column: str) -> InputError:
    return InputError(
        f"the long-form table needs a {column!r} column",
        file=plan.table.file,
        row=1,
        column=column,
    )


def iter_rows(
    plan: TablePlan, report: ValidationReport, file_label: str
) -> Iterator[tuple[RespondentInfo, list[Answer]]]:
    """Respondent and answers for each row, checking cells into the report as it goes."""
    table = plan.table
    index = {name: i for i, name in enumerate(table.columns)}
    if plan.shape == "long":
        yield from _iter_long(plan, report, file_label, index)
        return
    questions = plan.questions()
    demographics = [c for c in plan.columns if c.role == "demographic"]
    keep = plan.keep_rows
    id_index = index[plan.id_column] if plan.id_column else None
    multi_table = table.sheet is not None
    for row_number, cells in table.rows():
        report.rows_read += 1
        cells = _without_nuls(cells, table.columns, report, file_label, row_number)
        if keep:
            value = cells[index[keep[0]]].strip()
            if value not in keep[1]:
                report.skipped(keep[2].format(value=value), {"file": file_label, "row": row_number})
                continue
        if id_index is not None and cells[id_index].strip():
            key = question_key(cells[id_index])
        else:
            prefix = f"{table.sheet}:" if multi_table else ""
            key = f"{table.file.stem}:{prefix}row-{row_number}"
        record = dict(zip(table.columns, cells, strict=True))
        info = RespondentInfo(key=key)
        for column in demographics:
            value = record[column.name].strip()
            if value:
                info.attributes[column.name] = value
        if plan.kind_column:
            info.kind = kind_from_text(record[plan.kind_column])
            if record[plan.kind_column].strip():
                info.attributes[plan.kind_column] = record[plan.kind_column].strip()
        if plan.organisation_column:
            info.organisation = record[plan.organisation_column].strip()[:300]
            if info.organisation:
                info.attributes[plan.organisation_column] = info.organisation
                if info.kind == "unknown":
                    info.kind = "organisation"
        if plan.kind_rule == "regulations":
            info.kind = _regulations_kind(record)
        answers = []
        for column in questions:
            value = record[column.name]
            where = {"file": file_label, "row": row_number, "column": column.name}
            report.check_cell(value, where)
            source = dict(where)
            if plan.export == "regulations.gov":
                attachments = record.get("Attachment Files", "").strip()
                if attachments:
                    source["attachments"] = attachments.split(",")
                if record.get("Is Withdrawn?", "").strip().lower() == "true":
                    source["withdrawn"] = True
            answers.append(
                Answer(
                    question=column.question_key,
                    text=value,
                    options=[value.strip()] if column.role == "closed" and value.strip() else [],
                    response_key=key if plan.id_column else "",
                    source=source,
                )
            )
        yield info, answers


def _without_nuls(cells: list[str], columns: list[str], report: ValidationReport,
                  file_label: str, row_number: int) -> list[str]:
    """Cells with NUL characters removed (PostgreSQL cannot store them in ids, options or
    attributes), each such cell flagged in the report."""
    if not any("\x00" in cell for cell in cells):
        return cells
    cleaned = []
    for column, cell in zip(columns, cells, strict=True):
        if "\x00" in cell:
            report.check_cell(cell, {"file": file_label, "row": row_number, "column": column})
            cell = cell.replace("\x00", "")
        cleaned.append(cell)
    return cleaned


def _number_or_text(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


def _iter_long(
    plan: TablePlan, report: ValidationReport, file_label: str, index: dict[str, int]
) -> Iterator[tuple[RespondentInfo, list[Answer]]]:
    spec = plan.long
    assert spec is not None
    for column in (spec.respondent, spec.text, spec.question):
        if column is not None and column not in index:
            raise _missing_column(plan, column)
    respondent_index, text_index = index[spec.respondent], index[spec.text]
    question_index = index[spec.question] if spec.question else None
    key_index = index[spec.response_key] if spec.response_key else None
    attribute_indexes = [(name, index[name], attribute_role(name)) for name in spec.attributes]
    source_indexes = [(name, index[name]) for name in spec.source_columns]
    for row_number, cells in plan.table.rows():
        report.rows_read += 1
        cells = _without_nuls(cells, plan.table.columns, report, file_label, row_number)
        respondent = question_key(cells[respondent_index])
        if not respondent:
            raise InputError(
                "the respondent id is empty",
                file=file_label,
                row=row_number,
                column=spec.respondent,
                hint="Every row of a long-form file needs the respondent's id.",
            )
        if spec.fixed_question:
            question = spec.fixed_question[0]
        else:
            assert question_index is not None
            question = question_key(cells[question_index])
            if not question:
                raise InputError(
                    "the question id is empty",
                    file=file_label,
                    row=row_number,
                    column=spec.question,
                    hint="Every row of a long-form file needs the question's id.",
                )
        info = RespondentInfo(key=respondent)
        for name, position, role in attribute_indexes:
            value = cells[position].strip()
            if not value:
                continue
            info.attributes[name] = value
            if role == "kind":
                info.kind = kind_from_text(value)
            elif role == "organisation":
                info.organisation = value[:300]
                if info.kind == "unknown":
                    info.kind = "organisation"
        text = cells[text_index]
        where = {"file": file_label, "row": row_number, "column": spec.text}
        report.check_cell(text, where)
        source = dict(where)
        for name, position in source_indexes:
            source[name] = _number_or_text(cells[position].strip())
        key = cells[key_index].strip() if key_index is not None else ""
        yield info, [Answer(question, text, [], key, source)]
