"""Find documents in folders and archives, link each to a respondent, and turn it into
responses with their provenance.

Nothing here touches the store: :func:`document_responses` yields plain
:class:`DocResponse` records, and the import pipeline writes them. Every file found ends in
at least one response (an unreadable one gets the reason in ``unprocessable``), so counts in
equal counts out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tomllib
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from heard.io.documents import clean, split
from heard.io.documents.extract import document_format, extract
from heard.io.documents.types import ExtractOptions, Unprocessable
from heard.io.errors import InputError
from heard.paths import private_dir, private_file

DOCUMENT_SUFFIXES = {".pdf", ".docx", ".odt", ".htm", ".html", ".eml", ".msg", ".png", ".jpg",
                     ".jpeg", ".tif", ".tiff", ".zip"}
SKIP_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
MANIFEST_NAMES = ("manifest.csv",)
LINK_COLUMNS = ("attachment files", "attachments", "attachment", "documents", "document",
                "files", "file names", "file")
OPTION_KEYS = {"question", "question_text", "questions", "pattern", "manifest", "link_column",
               "split", "max_size_mb", "ocr", "ocr_languages", "min_confidence"}
MAX_DEPTH = 3  # archives and e-mails inside e-mails inside archives…
PREAMBLE_WORDS = 30  # text before the first heading becomes its own response from this length


@dataclass
class DocumentOptions:
    """The ``[documents]`` table of a mapping file (every setting optional)."""

    question: str = "documents"
    question_text: str = "Documents sent in by respondents"
    questions: dict[str, str] = field(default_factory=dict)
    pattern: str | None = None
    manifest: Path | None = None
    link_column: str | None = None
    split: str = "auto"  # auto | headings | none
    max_size_mb: float = 50.0
    ocr: bool = True
    ocr_languages: str = "auto"
    min_confidence: float = 60.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_size_mb * 1024 * 1024)


def load_options(mapping_path: Path | None) -> DocumentOptions:
    """Read ``[documents]`` from the mapping file (defaults when absent)."""
    options = DocumentOptions()
    if mapping_path is None or not mapping_path.exists():
        return options
    try:
        data = tomllib.loads(mapping_path.read_text(encoding="utf-8-sig")).get("documents", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return options  # load_mapping reports the syntax error
    if not isinstance(data, dict):
        raise InputError("[documents] must be a table", file=mapping_path)
    unknown = set(data) - OPTION_KEYS
    if unknown:
        raise InputError(
            f"unknown [documents] setting(s): {', '.join(sorted(unknown))}", file=mapping_path,
            hint=f"Known settings: {', '.join(sorted(OPTION_KEYS))}. See docs/documents.md.",
        )

    def need(key: str, kind: type | tuple[type, ...]) -> object:
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise InputError(f"[documents] {key} has the wrong type ({value!r})",
                             file=mapping_path, hint="See docs/documents.md.")
        return value

    for key in ("question", "question_text", "pattern", "link_column", "ocr_languages"):
        if key in data:
            setattr(options, key, need(key, str))
    if "manifest" in data:
        manifest = Path(str(need("manifest", str)))
        options.manifest = manifest if manifest.is_absolute() else mapping_path.parent / manifest
    if "split" in data:
        options.split = str(need("split", str))
        if options.split not in ("auto", "headings", "none"):
            raise InputError(f"[documents] split = {options.split!r} is not known",
                             file=mapping_path, hint='Use "auto", "headings" or "none".')
    for key in ("max_size_mb", "min_confidence"):
        if key in data:
            setattr(options, key, float(need(key, (int, float))))  # type: ignore[arg-type]
    if "ocr" in data:
        options.ocr = bool(need("ocr", bool))
    if "questions" in data:
        questions = need("questions", dict)
        options.questions = {str(k): str(v) for k, v in questions.items()}  # type: ignore[union-attr]
    return options


# --- finding documents ------------------------------------------------------------------------


@dataclass
class DocumentFile:
    """One file found in a folder or archive (or given on its own)."""

    name: str  # path inside its folder or archive, used for linking
    display: str  # shown to people and stored as source.file
    size: int
    read: Callable[[], bytes]
    sha256: str = ""


@dataclass
class DocumentSet:
    files: list[DocumentFile] = field(default_factory=list)
    manifests: list[tuple[str, bytes]] = field(default_factory=list)  # (label, CSV bytes)
    skipped: list[dict] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)

    def sources(self) -> list[tuple[str, str]]:
        """(label, sha256) of every file, for the import's sources and fingerprint."""
        out = [(f.display, f.sha256) for f in self.files]
        out += [(label, hashlib.sha256(data).hexdigest()) for label, data in self.manifests]
        return out


def is_manifest_csv(path: Path) -> bool:
    """A CSV whose header has ``file`` and ``respondent_id`` columns."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    names = {h.strip().lower() for h in header}
    return "file" in names and "respondent_id" in names


def is_document_input(path: Path) -> bool:
    """Folders that are not the evaluation layout, .zip archives, and manifests. (A single
    document is given in a folder, so that a mistyped spreadsheet still gets a clear error.)"""
    if path.is_dir():  # questions.csv or responses.csv: the evaluation layout
        return not ((path / "responses.csv").exists() or (path / "questions.csv").exists())
    return path.suffix.lower() == ".zip" or is_manifest_csv(path)


def split_inputs(paths: list[Path]) -> tuple[list[Path], DocumentSet | None]:
    """(spreadsheets and evaluation folders, the documents) among the paths given."""
    tables: list[Path] = []
    documents = DocumentSet()
    for path in paths:
        if not path.exists():
            tables.append(path)  # read_tables names the missing file
        elif is_document_input(path):
            documents.roots.append(path)
        else:
            tables.append(path)
    if not documents.roots:
        return tables, None
    prefix_roots = len(documents.roots) > 1
    for root in documents.roots:
        _scan_root(root, documents, prefix_roots)
    for document in documents.files:
        try:
            document.sha256 = hashlib.sha256(document.read()).hexdigest()
        except Unprocessable:  # e.g. encrypted inside its archive: fingerprint by name
            document.sha256 = hashlib.sha256(
                f"{document.display}:{document.size}".encode()).hexdigest()
    return tables, documents


def _hidden(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or (
        parts[-1].lower() in SKIP_NAMES if parts else False
    )


def _scan_root(root: Path, documents: DocumentSet, prefix_roots: bool) -> None:
    label = root.name
    if root.is_file() and is_manifest_csv(root):
        documents.manifests.append((label, root.read_bytes()))
        return
    if root.is_file() and root.suffix.lower() == ".zip":
        _scan_zip(root.read_bytes, label, "", documents, 0)
        return
    if root.is_file():
        documents.files.append(DocumentFile(root.name, label, root.stat().st_size,
                                            root.read_bytes))
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        display = f"{label}/{name}" if prefix_roots else name
        if _hidden(name):
            documents.skipped.append({"file": display, "reason": "hidden or system file"})
        elif name.lower() in MANIFEST_NAMES:
            documents.manifests.append((display, path.read_bytes()))
        elif path.suffix.lower() == ".zip":
            _scan_zip(path.read_bytes, display, f"{name}/", documents, 1)
        else:
            documents.files.append(DocumentFile(name, display, path.stat().st_size,
                                                path.read_bytes))


def _scan_zip(read: Callable[[], bytes], label: str, prefix: str, documents: DocumentSet,
              depth: int) -> None:
    """Members of a .zip archive as documents (and the archive itself when unreadable)."""
    data = read()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError):
        # kept as one document: processing reports the damaged archive
        documents.files.append(DocumentFile(prefix.rstrip("/") or label, label, len(data),
                                            lambda: data))
        return
    for member in members:
        name = member.filename
        display = f"{label}/{name}"
        if _hidden(name):
            documents.skipped.append({"file": display, "reason": "hidden or system file"})
            continue
        if PurePosixPath(name).name.lower() in MANIFEST_NAMES and "/" not in name:
            documents.manifests.append((display, archive.read(member)))
            continue
        if name.lower().endswith(".zip") and depth < MAX_DEPTH and member.file_size < 1 << 30:
            _scan_zip(_member_reader(archive, member), display, f"{prefix}{name}/", documents,
                      depth + 1)
            continue
        documents.files.append(DocumentFile(prefix + name if depth else name, display,
                                            member.file_size, _member_reader(archive, member)))


def _member_reader(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return archive.read(member)
        except RuntimeError as exc:  # encrypted member
            raise Unprocessable(f"the file is encrypted inside its ZIP archive ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise Unprocessable(f"damaged inside its ZIP archive ({exc})") from None
    return read


# --- linking ----------------------------------------------------------------------------------


@dataclass
class Link:
    respondent: str
    question: str | None
    how: str  # manifest | column | pattern | own


def _link_keys(value: str) -> list[str]:
    """Ways a listed file (a name, a path or a URL) may be named in a folder."""
    value = value.strip().strip('"')
    if not value:
        return []
    path = unquote(urlparse(value).path if "://" in value else value).replace("\\", "/")
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", "")]
    if not parts:
        return []
    base = parts[-1].casefold()
    keys = [base]
    if len(parts) > 1:
        parent = parts[-2].casefold()
        keys = [f"{parent}/{base}", f"{parent}-{base}", f"{parent}_{base}"] + keys
    return keys


def _doc_keys(name: str) -> list[str]:
    parts = PurePosixPath(name.casefold()).parts
    keys = []
    if len(parts) > 1:
        keys.append(f"{parts[-2]}/{parts[-1]}")
    keys.append(parts[-1] if parts else name.casefold())
    return keys


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``{respondent}_{anything}.pdf`` → a regular expression over file paths."""
    tokens = re.split(r"(\{respondent\}|\{question\}|\{anything\}|\{\*\}|\*)", pattern)
    out = []
    for token in tokens:
        if token == "{respondent}":
            out.append(r"(?P<respondent>[^/]+?)")
        elif token == "{question}":
            out.append(r"(?P<question>[^/]+?)")
        elif token in ("{anything}", "{*}", "*"):
            out.append(r".*?")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out), re.IGNORECASE)


class Linker:
    """Respondent (and maybe question) for each document: manifest, then the spreadsheet's
    file column, then the file-name pattern; else the document is its own respondent."""

    def __init__(self, options: DocumentOptions, manifests: list[tuple[str, bytes]],
                 column_links: list[tuple[str, str]] | None = None) -> None:
        self.manifest: dict[str, tuple[str, str | None]] = {}
        self.manifest_rows: list[dict] = []
        for label, data in manifests:
            self._read_manifest(label, data)
        self.column: dict[str, set[str]] = {}
        for respondent, value in column_links or []:
            for item in re.split(r"[,;\n]", value):
                for key in _link_keys(item):
                    self.column.setdefault(key, set()).add(respondent)
        self.pattern = compile_pattern(options.pattern) if options.pattern else None
        self.used_manifest: set[str] = set()

    def _read_manifest(self, label: str, data: bytes) -> None:
        text = data.decode("utf-8-sig", "replace")
        reader = csv.DictReader(io.StringIO(text))
        fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
        if "file" not in fields or "respondent_id" not in fields:
            raise InputError("a document manifest needs the columns file and respondent_id",
                             file=label, row=1,
                             hint="Write a CSV with the header file,respondent_id[,question_id]")
        for row_number, row in enumerate(reader, start=2):
            name = (row.get(fields["file"]) or "").strip().replace("\\", "/")
            respondent = (row.get(fields["respondent_id"]) or "").strip()
            if not name or not respondent:
                raise InputError("a manifest row needs both a file and a respondent_id",
                                 file=label, row=row_number)
            question = (row.get(fields["question_id"]) or "").strip() if "question_id" in \
                fields else ""
            self.manifest[name.casefold()] = (respondent, question or None)
            self.manifest_rows.append({"file": name, "manifest": label, "row": row_number})

    def link(self, document: DocumentFile) -> Link:
        name = document.name.casefold()
        for key in (name, PurePosixPath(name).name):
            if key in self.manifest:
                self.used_manifest.add(key)
                respondent, question = self.manifest[key]
                return Link(respondent, question, "manifest")
        for key in _doc_keys(document.name):
            respondents = self.column.get(key, set())
            if len(respondents) == 1:
                return Link(next(iter(respondents)), None, "column")
        if self.pattern:
            for candidate in (document.name, PurePosixPath(document.name).name):
                for text in (candidate, PurePosixPath(candidate).stem):
                    match = self.pattern.fullmatch(text)
                    if match and match.groupdict().get("respondent"):
                        question = match.groupdict().get("question")
                        return Link(match["respondent"], question, "pattern")
        return Link(document.display, None, "own")

    def unused_manifest_rows(self) -> list[dict]:
        return [r for r in self.manifest_rows if r["file"].casefold() not in self.used_manifest
                and PurePosixPath(r["file"].casefold()).name not in self.used_manifest]


def find_link_column(columns: list[str], options: DocumentOptions) -> str | None:
    """The spreadsheet column listing each respondent's files, if there is one."""
    if options.link_column:
        return options.link_column if options.link_column in columns else None
    lowered = {c.strip().lower(): c for c in columns}
    return next((lowered[name] for name in LINK_COLUMNS if name in lowered), None)


# --- documents → responses --------------------------------------------------------------------


@dataclass
class DocResponse:
    respondent: str
    question: str
    text: str
    key: str
    source: dict
    unprocessable: str = ""  # the reason, when the document could not be read


@dataclass
class DocumentReport:
    files: int = 0
    parts: int = 0
    responses: int = 0
    formats: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)
    links: Counter = field(default_factory=Counter)
    unprocessable: list[dict] = field(default_factory=list)
    needs_check: list[dict] = field(default_factory=list)
    splits: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)  # one row per file, for review
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "files": self.files, "parts": self.parts, "responses": self.responses,
            "formats": dict(self.formats), "methods": dict(self.methods),
            "links": dict(self.links), "unprocessable": self.unprocessable,
            "needs_check": self.needs_check, "splits": self.splits, "skipped": self.skipped,
            "documents": self.documents, "warnings": self.warnings,
        }


class DocumentProcessor:
    """Turns documents into responses: extract, clean, split, detect language, copy."""

    def __init__(self, options: DocumentOptions, questions: list[tuple[str, str]],
                 store_dir: Path | None = None) -> None:
        from heard.analysis.prepare import LanguageDetector

        self.options = options
        self.questions = questions
        self.question_keys = {key for key, _ in questions}
        self.store_dir = store_dir
        self.detector = LanguageDetector()
        self.extract_options = ExtractOptions(ocr=options.ocr, ocr_languages=options.ocr_languages)
        self.report = DocumentReport()

    def run(self, documents: DocumentSet, linker: Linker) -> Iterator[DocResponse]:
        """Responses for every document, linked to its respondent."""
        self.report.skipped = list(documents.skipped)
        for document in documents.files:
            link = linker.link(document)
            self.report.files += 1
            self.report.links[link.how] += 1
            produced = list(self._one(document.display, document.name, document.size,
                                      document.read, link, None, 0))
            self.report.documents.append({
                "file": document.display, "respondent": link.respondent, "link": link.how,
                "responses": [{"question": r.question, "heading": r.source.get("heading"),
                               "pages": r.source.get("pages"),
                               "outcome": "unprocessable" if r.unprocessable else "",
                               "file": r.source.get("file")} for r in produced],
            })
            yield from produced
        for row in linker.unused_manifest_rows():
            self.report.warnings.append(
                f"{row['manifest']} row {row['row']} lists {row['file']!r}, which was not found"
            )

    def _unreadable(self, display: str, key: str, link: Link, reason: str,
                    source: dict) -> DocResponse:
        self.report.unprocessable.append({"file": display, "reason": reason})
        question = self._question_for(link)
        return DocResponse(link.respondent, question, "", key,
                           {**source, "outcome": "unprocessable", "reason": reason}, reason)

    def _question_for(self, link: Link) -> str:
        return link.question or self.options.question

    def _one(self, display: str, name: str, size: int, read: Callable[[], bytes], link: Link,
             parent: str | None, depth: int) -> Iterator[DocResponse]:
        self.report.parts += 1
        source: dict = {"file": display, "size": size, "link": link.how}
        if parent:
            source["in"] = parent
        fmt = "zip" if name.lower().endswith(".zip") else document_format(name)
        source["format"] = fmt or PurePosixPath(name).suffix.lower().lstrip(".")
        self.report.formats[source["format"] or "unknown"] += 1
        if size > self.options.max_bytes:
            yield self._unreadable(display, display, link, f"larger than the limit of "
                                   f"{self.options.max_size_mb:g} MB ({size / 1e6:.1f} MB); "
                                   "raise [documents] max_size_mb to read it", source)
            return
        try:
            data = read()
        except Unprocessable as exc:
            yield self._unreadable(display, display, link, exc.reason, source)
            return
        source["sha256"] = hashlib.sha256(data).hexdigest()
        stored = self._store(data, source["sha256"], name)
        if stored:
            source["document"] = stored
        if fmt == "zip":
            yield from self._archive(display, data, link, source, depth)
            return
        try:
            extracted = extract(name, data, self.extract_options)
        except Unprocessable as exc:
            yield self._unreadable(display, display, link, exc.reason, source)
            return
        source["method"] = extracted.method
        source.update({k: v for k, v in extracted.meta.items() if v})
        self.report.methods[extracted.method or "none"] += 1
        responses = self._responses(display, extracted, link, source)
        children = list(extracted.attachments)
        if not responses and not children:
            reason = "no text found in the document"
            if extracted.format in ("image", "pdf") and extracted.method == "ocr":
                reason = "no text found by OCR (blank or unreadable scan)"
            elif extracted.format == "pdf":
                reason = "no text found (the PDF has no text layer and no readable scan)"
            yield self._unreadable(display, display, link, reason, source)
        yield from responses
        for attachment in children:
            if depth >= MAX_DEPTH:
                self.report.parts += 1
                yield self._unreadable(f"{display}/{attachment.name}", f"{display}/"
                                       f"{attachment.name}", link, "attachments nested too deep",
                                       {"file": f"{display}/{attachment.name}", "in": display})
                continue
            if attachment.unreadable:
                self.report.parts += 1
                name = f"{display}/{attachment.name}"
                yield self._unreadable(name, name, link, attachment.unreadable,
                                       {"file": name, "in": display})
                continue
            payload = attachment.data
            yield from self._one(f"{display}/{attachment.name}", attachment.name, len(payload),
                                 lambda payload=payload: payload, link, display, depth + 1)

    def _archive(self, display: str, data: bytes, link: Link, source: dict,
                 depth: int) -> Iterator[DocResponse]:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [m for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
        except (zipfile.BadZipFile, OSError) as exc:
            yield self._unreadable(display, display, link, f"damaged ZIP archive ({exc})", source)
            return
        if not members:
            yield self._unreadable(display, display, link, "the ZIP archive is empty", source)
            return
        for member in members:
            if depth >= MAX_DEPTH:
                yield self._unreadable(f"{display}/{member.filename}", display, link,
                                       "archives nested too deep", source)
                return
            yield from self._one(f"{display}/{member.filename}", member.filename,
                                 member.file_size, _member_reader(archive, member), link, display,
                                 depth + 1)

    def _store(self, data: bytes, sha: str, name: str) -> str | None:
        """Copy the original to ``documents/<sha256>.<ext>`` under the store's folder."""
        if self.store_dir is None:
            return None
        suffix = PurePosixPath(name).suffix.lower()
        suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"
        target = self.store_dir / f"{sha}{suffix}"
        if not target.exists():
            private_dir(target.parent)
            partial = target.with_suffix(target.suffix + ".part")
            partial.write_bytes(data)
            private_file(partial)  # respondents' originals: this account only
            shutil.move(partial, target)
        return f"documents/{target.name}"

    def _responses(self, display: str, extracted, link: Link, source: dict) -> list[DocResponse]:
        pairs, removed = clean.clean_pages([(p.number, p.text) for p in extracted.pages])
        lines = [line for _, line in pairs]
        page_of = [number for number, _ in pairs]
        confidence = {p.number: p.confidence for p in extracted.pages
                      if p.confidence is not None and p.number is not None}
        if confidence:
            source["ocr_confidence"] = {str(k): v for k, v in confidence.items()}
        numbered = [p.number for p in extracted.pages if p.number is not None]
        if numbered:
            source["page_count"] = max(numbered)
        if removed:
            source["headers_removed"] = removed[:10]
        if extracted.notes:
            source["notes"] = extracted.notes
        if not any(ch.isalnum() for line in lines for ch in line):
            return []
        sections = [split.Section(None, "", "whole", list(range(len(lines))))]
        questions = self.questions
        if link.question is None and self.options.split != "none" and questions:
            found = split.split_sections(lines, questions)
            if split.should_split(found, self.options.split):
                sections = found
        splitting = len(sections) > 1 or sections[0].how != "whole"
        out: list[DocResponse] = []
        mapping_rows = []
        preamble = ""
        for section in sections:
            indexes = [i if i >= 0 else -i - 1 for i in section.lines]
            section_lines = []
            for original in section.lines:
                if original < 0:
                    heading_line = lines[-original - 1]
                    section_lines.append(heading_line[len(section.heading):].strip(" .:-–—)\t"))
                else:
                    section_lines.append(lines[original])
            text = clean.reflow(section_lines)
            if section.how == "preamble" and len(text.split()) < PREAMBLE_WORDS:
                preamble = text  # a short opening ("Dear Sir…") is kept in the source only
                continue
            item = dict(source)
            pages = sorted({page_of[i] for i in indexes if page_of[i] is not None})
            heading_page = None
            if section.how in ("label", "text"):
                heading_index = next((i for i, line in enumerate(lines)
                                      if line == section.heading or line.startswith(
                                          section.heading)), None)
                heading_page = page_of[heading_index] if heading_index is not None else None
                if heading_page is not None:
                    pages = sorted(set(pages) | {heading_page})
            if pages:
                item["page"] = pages[0]
                item["pages"] = [pages[0], pages[-1]]
                if confidence:
                    scores = {str(p): confidence[p] for p in pages if p in confidence}
                    item["ocr_confidence"] = scores
                    low = [int(p) for p, c in scores.items() if c < self.options.min_confidence]
                    if low:
                        item["needs_check"] = True
                        item["low_confidence_pages"] = low
            elif confidence:
                low = [p for p, c in confidence.items() if c < self.options.min_confidence]
                if low:
                    item["needs_check"] = True
                    item["low_confidence_pages"] = low
            question = self._question_for(link)
            key = display
            if splitting:
                item["split_by"] = "heading"
                item["heading"] = section.heading if section.how != "preamble" else ""
                item["heading_match"] = section.how
                if section.question is not None:
                    question = section.question
                    key = f"{display}#{section.question}"
                else:
                    key = f"{display}#preamble"
                mapping_rows.append({"heading": item["heading"], "question": question,
                                     "match": section.how, "pages": item.get("pages")})
                if preamble and section.question is not None:
                    item["preamble"] = preamble[:1000]
                    preamble = ""
            language, score = self.detector.detect(text)
            if language != "und":
                item["language"] = language
            if item.get("needs_check"):
                self.report.needs_check.append({"file": display,
                                                "pages": item["low_confidence_pages"]})
            out.append(DocResponse(link.respondent, question, text, key, item))
        if splitting:
            self.report.splits.append({"file": display, "sections": mapping_rows})
        return out


def document_responses(documents: DocumentSet, options: DocumentOptions,
                       questions: list[tuple[str, str]], column_links: list[tuple[str, str]],
                       store_dir: Path | None) -> tuple[Iterator[DocResponse], DocumentReport]:
    """(responses, the report filled while they are consumed)."""
    manifests = list(documents.manifests)
    if options.manifest is not None:
        if not options.manifest.is_file():
            raise InputError("the manifest named in [documents] manifest was not found",
                             file=options.manifest)
        manifests.append((options.manifest.name, options.manifest.read_bytes()))
    linker = Linker(options, manifests, column_links)
    processor = DocumentProcessor(options, questions, store_dir)
    return processor.run(documents, linker), processor.report
