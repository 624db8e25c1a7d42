"""Responses that arrive as documents: formats, cleaning, linking, splitting, OCR, import."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from heard.io.documents import DocumentOptions, Linker, extract, load_options, samples, split_inputs
from heard.io.documents import ocr as ocr_module
from heard.io.documents.clean import clean_pages, dehyphenate, reflow
from heard.io.documents.collect import DocumentFile, DocumentProcessor
from heard.io.documents.split import match_heading, number_questions, split_sections
from heard.io.documents.types import ExtractOptions, Unprocessable
from tests.conftest import heard, shared_dataset
from tests.fixtures.documents.cfb_writer import cfb_bytes, msg_bytes

HAS_OCR = {"eng", "cym"} <= ocr_module.available_languages()
needs_ocr = pytest.mark.skipif(not HAS_OCR, reason="Tesseract with eng+cym is not installed")

QUESTIONS = [
    ("q1", "Do you agree that the library should open on Sundays?"),
    ("q2", "What impact would the change to bus routes have on you?"),
    ("q3", "Is there anything else you would like to tell us?"),
]
ANSWERS = {
    "q1": "Yes. Sunday opening would let working families borrow books together.",
    "q2": "The new route adds twenty minutes to my journey to the hospital.",
    "q3": "Please publish the results of this consultation in Welsh as well.",
}



def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(samples.text_pdf([["Secret answer"]]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- text formats -------------------------------------------------------------------------


def test_text_formats_read_their_text():
    text = samples.letter_text(7)
    paragraphs = text.split("\n\n")
    html = ("<html><head><title>Reply</title><style>p{color:red}</style><script>var x=1"
            "</script></head><body>" + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "</body></html>").encode()
    documents = {
        "a.txt": text.encode("cp1252"),
        "a.html": html,
        "a.docx": samples.docx_bytes(paragraphs),
        "a.odt": samples.odt_bytes(paragraphs),
        "a.pdf": samples.text_pdf([samples.wrap(text, 70)]),
    }
    for name, data in documents.items():
        extracted = extract(name, data)
        joined = " ".join(" ".join(p.text for p in extracted.pages).split())
        for paragraph in paragraphs:
            assert " ".join(paragraph.split()) in joined, (name, paragraph)
        assert "color:red" not in joined and "var x" not in joined
    assert extract("a.pdf", documents["a.pdf"]).pages[0].method == "text-layer"


def test_eml_body_and_attachments_recursively():
    inner = samples.eml_bytes("Inner message body.", [("deep.txt", b"Deep attached text.")])
    outer = samples.eml_bytes("Please see the attached files.",
                              [("letter.odt", samples.odt_bytes(["Attached letter text."])),
                               ("forwarded.eml", inner)])
    extracted = extract("mail.eml", outer)
    assert "Please see the attached files." in extracted.pages[0].text
    assert [a.name for a in extracted.attachments] == ["letter.odt", "forwarded.eml"]
    processor = DocumentProcessor(DocumentOptions(), [])
    document = DocumentFile("mail.eml", "mail.eml", len(outer), lambda: outer)
    responses = list(processor.run(_set(document), Linker(DocumentOptions(), [])))
    files = [r.source["file"] for r in responses]
    assert files == ["mail.eml", "mail.eml/letter.odt", "mail.eml/forwarded.eml",
                     "mail.eml/forwarded.eml/deep.txt"]
    assert {r.respondent for r in responses} == {"mail.eml"}
    assert responses[-1].text == "Deep attached text."
    assert responses[-1].source["in"] == "mail.eml/forwarded.eml"


def _set(*files: DocumentFile):
    from heard.io.documents import DocumentSet

    return DocumentSet(files=list(files))


# --- Outlook .msg -------------------------------------------------------------------------


def test_cfb_writer_output_opens_strictly_in_olefile():
    """The test-only writer makes compound files olefile reads with every defect check on."""
    import olefile

    big = bytes(range(256)) * 40  # over the 4,096-byte cutoff: regular sectors
    data = cfb_bytes({"small": b"x" * 100, "Store": {"big": big, "tiny": b"y", "none": b""}})
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_UNSURE)
    try:
        assert ole.listdir(streams=True, storages=True) == [
            ["Store"], ["Store", "big"], ["Store", "none"], ["Store", "tiny"], ["small"]]
        assert ole.openstream("Store/big").read() == big
        assert ole.openstream("Store/tiny").read() == b"y"
        assert ole.openstream("Store/none").read() == b""
        assert ole.openstream("small").read() == b"x" * 100
    finally:
        ole.close()
    message = msg_bytes("Subject", "Body", [("a.txt", b"attached")])
    ole = olefile.OleFileIO(io.BytesIO(message), raise_defects=olefile.DEFECT_UNSURE)
    try:
        assert ["__substg1.0_0037001F"] in ole.listdir()
        assert ["__attach_version1.0_#00000000", "__substg1.0_37010102"] in ole.listdir()
    finally:
        ole.close()


def test_msg_body_subject_and_attachments_recursively():
    body = "\n\n".join(samples.letter_text(20 + n, points=2) for n in range(10))
    assert len(body.encode("utf-16-le")) > 4096  # the body is in regular sectors
    letter = samples.text_pdf([samples.wrap(samples.letter_text(30), 70)])
    inner = samples.eml_bytes("Forwarded note.", [("deep.txt", b"Deep attached text.")])
    data = msg_bytes("Library opening hours", body, [
        ("letter.pdf", letter), ("note.txt", "Short note: café hours.".encode()),
        ("forwarded.eml", inner)])
    extracted = extract("mail.msg", data)
    assert extracted.format == "msg" and extracted.meta == {"subject": "Library opening hours"}
    assert " ".join(extracted.pages[0].text.split()) == " ".join(body.split())
    assert [(a.name, a.data) for a in extracted.attachments] == [
        ("letter.pdf", letter), ("note.txt", "Short note: café hours.".encode()),
        ("forwarded.eml", inner)]

    document = DocumentFile("R5_mail.msg", "R5_mail.msg", len(data), lambda: data)
    options = DocumentOptions(pattern="{respondent}_{anything}")
    responses = list(DocumentProcessor(options, []).run(_set(document), Linker(options, [])))
    assert [r.source["file"] for r in responses] == [
        "R5_mail.msg", "R5_mail.msg/letter.pdf", "R5_mail.msg/note.txt",
        "R5_mail.msg/forwarded.eml", "R5_mail.msg/forwarded.eml/deep.txt"]
    assert {r.respondent for r in responses} == {"R5"}
    assert not any(r.unprocessable for r in responses)
    mail, pdf, note = responses[:3]
    assert mail.source["format"] == "msg" and mail.source["subject"] == "Library opening hours"
    assert "library" in mail.text.lower()
    assert pdf.source["in"] == "R5_mail.msg" and pdf.source["method"] == "text-layer"
    assert " ".join(samples.letter_text(30).split()[:8]) in " ".join(pdf.text.split())
    assert note.text == "Short note: café hours."
    assert responses[-1].text == "Deep attached text."


def test_attached_outlook_message_is_kept_as_unreadable():
    """An .msg attached inside an .msg (an embedded message storage) is never dropped."""
    inner = {"__substg1.0_0037001F": "Inner".encode("utf-16-le")}
    outer = cfb_bytes({
        "__substg1.0_0037001F": "Outer".encode("utf-16-le"),
        "__substg1.0_1000001F": "Please see the forwarded message.".encode("utf-16-le"),
        "__attach_version1.0_#00000000": {
            "__substg1.0_3707001F": "forwarded.msg".encode("utf-16-le"),
            "__substg1.0_3701000D": inner,
        },
    })
    document = DocumentFile("R6_mail.msg", "R6_mail.msg", len(outer), lambda: outer)
    options = DocumentOptions(pattern="{respondent}_{anything}")
    responses = list(DocumentProcessor(options, []).run(_set(document), Linker(options, [])))
    assert [r.source["file"] for r in responses] == ["R6_mail.msg", "R6_mail.msg/forwarded.msg"]
    body, attached = responses
    assert not body.unprocessable and "forwarded message" in body.text
    assert attached.unprocessable and "attached Outlook message" in attached.unprocessable
    assert attached.respondent == "R6"


def test_msg_html_body_when_there_is_no_plain_text():
    data = msg_bytes("Hi", html=b"<html><head><style>p{}</style></head><body><p>Hello from "
                     b"HTML.</p><p>Second paragraph.</p></body></html>")
    extracted = extract("html.msg", data)
    assert extracted.pages[0].text.split() == "Hello from HTML. Second paragraph.".split()


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda data: b"From: someone\r\n\r\nnot a compound file", "not an Outlook .msg"),
        (lambda data: data[:1536], "damaged or unreadable MSG file"),  # truncated
        (lambda data: data[:512] + b"\xff" * (len(data) - 512), "damaged .msg file"),
        (lambda data: cfb_bytes({"WordDocument": b"\0" * 600}), "not an Outlook message"),
    ],
)
def test_corrupt_msg_is_unprocessable_with_a_reason(cut, reason):
    good = msg_bytes("Subject", "A body long enough to matter. " * 100,
                     [("a.txt", b"attached text " * 50)])
    data = cut(good)
    with pytest.raises(Unprocessable, match=reason):
        extract("broken.msg", data)
    document = DocumentFile("broken.msg", "broken.msg", len(data), lambda: data)
    processor = DocumentProcessor(DocumentOptions(), [])
    [response] = processor.run(_set(document), Linker(DocumentOptions(), []))
    assert reason in response.unprocessable
    assert response.source["outcome"] == "unprocessable" and response.text == ""
    assert processor.report.unprocessable == [{"file": "broken.msg",
                                               "reason": response.unprocessable}]


# --- cleaning ------------------------------------------------------------------------------


def test_headers_footers_hyphenation_and_whitespace():
    pages = []
    topics = ["buses", "parking", "the park", "schools"]
    for number in range(1, 5):
        body = [f"This paragraph is about {topics[number - 1]}, the   library and its consul-",
                f"tation with {['old', 'young', 'local', 'new'][number - 1]} people.", "",
                f"Another point about {topics[number - 1]}."]
        pages.append((number, "\n".join(["Town Council response  ", *body, "",
                                         f"Page {number} of 4"])))
    pairs, removed = clean_pages(pages)
    lines = [line for _, line in pairs]
    assert "Town Council response" in removed and "Page 1 of 4" in removed
    assert not any(line.startswith(("Town Council", "Page ")) for line in lines)
    text = reflow(lines)
    assert "library and its consultation with young people." in text
    assert "  " not in text
    assert dehyphenate(["a well-", "Known case"]) == ["a well-", "Known case"]


# --- bad documents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "damaged"),
        ("notpdf.pdf", b"hello", "not a PDF"),
        ("locked.pdf", None, "password"),
        ("broken.docx", b"PK\x03\x04 broken", "damaged"),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "password"),
        ("broken.png", b"\x89PNG\r\n\x1a\n broken", "damaged"),
        ("data.xyz", b"abc", "unsupported file type"),
    ],
)
def test_bad_documents_give_a_reason(name, data, reason):
    data = _encrypted_pdf() if data is None else data
    with pytest.raises(Unprocessable) as caught:
        extract(name, data)
    assert reason in caught.value.reason


def test_missing_tesseract_names_what_to_install(monkeypatch):
    monkeypatch.setenv("HEARD_TESSERACT", "/nonexistent/tesseract")
    scan = samples.image_bytes(samples.render_letter("Hello there", seed=1))
    with pytest.raises(Unprocessable) as caught:
        extract("scan.png", scan)
    assert "apt-get install tesseract-ocr" in caught.value.reason
    assert "heard[ocr]" in caught.value.reason
    with pytest.raises(Unprocessable) as caught:
        extract("scan.pdf", samples.image_pdf([samples.render_letter("Hello", seed=1)]))
    assert "tesseract-ocr" in caught.value.reason


def test_oversized_and_zero_text_are_unprocessable():
    options = DocumentOptions(max_size_mb=0.001)
    big = samples.text_pdf([["x" * 50] * 40])
    blank = samples.text_pdf([[" "]])
    files = [DocumentFile("big.pdf", "big.pdf", len(big), lambda: big),
             DocumentFile("blank.txt", "blank.txt", 3, lambda: b"   ")]
    responses = list(DocumentProcessor(options, []).run(_set(*files), Linker(options, [])))
    reasons = {r.source["file"]: r.unprocessable for r in responses}
    assert "larger than the limit" in reasons["big.pdf"]
    assert "no text" in reasons["blank.txt"]
    assert blank  # a PDF with no text at all needs OCR; covered in the OCR tests


# --- linking --------------------------------------------------------------------------------


def test_manifest_pattern_column_and_own_links():
    manifest = b"file,respondent_id,question_id\nletters/a.pdf,R1,q2\n"
    options = DocumentOptions(pattern="{respondent}_{anything}.pdf")
    column = [("CMS-1-0004", "https://downloads.regulations.gov/CMS-1-0004/attachment_1.pdf,"
                             "https://downloads.regulations.gov/CMS-1-0004/attachment_2.docx"),
              ("CMS-1-0005", "https://downloads.regulations.gov/CMS-1-0005/attachment_1.pdf")]
    linker = Linker(options, [("manifest.csv", manifest)], column)

    def link(name: str):
        found = linker.link(DocumentFile(name, name, 1, lambda: b""))
        return found.respondent, found.question, found.how

    assert link("letters/a.pdf") == ("R1", "q2", "manifest")
    assert link("CMS-1-0004/attachment_2.docx") == ("CMS-1-0004", None, "column")
    assert link("CMS-1-0005-attachment_1.pdf") == ("CMS-1-0005", None, "column")
    assert link("R77_my letter.pdf") == ("R77", None, "pattern")
    assert link("attachment_1.pdf") == ("attachment", None, "pattern")  # as the pattern says
    plain = Linker(DocumentOptions(), [], column)
    # two respondents list an attachment_1.pdf: a bare name is ambiguous
    assert plain.link(DocumentFile("attachment_1.pdf", "x", 1, lambda: b"")).how == "own"
    assert link("stray.pdf") == ("stray.pdf", None, "own")


def test_options_from_mapping_file(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[documents]\nquestion = "q9"\npattern = "{respondent}-{anything}"\n'
                    'max_size_mb = 5\nsplit = "none"\n[documents.questions]\nq9 = "Views?"\n')
    options = load_options(path)
    assert (options.question, options.max_size_mb, options.split) == ("q9", 5.0, "none")
    assert options.questions == {"q9": "Views?"}
    from heard.io.errors import InputError
    from heard.io.mapping import load_mapping

    load_mapping(path)  # [documents] is a known section
    path.write_text('[documents]\npatern = "x"\n')
    with pytest.raises(InputError, match="patern"):
        load_options(path)


# --- splitting ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["label", "short", "text"])
def test_multi_question_document_is_split(style):
    headings = {text if style == "text" else key: ANSWERS[key] for key, text in QUESTIONS}
    text = samples.multi_question_text(headings, style=style)
    lines = text.splitlines()
    sections = split_sections(lines, QUESTIONS)
    found = {s.question: " ".join(lines[i] for i in s.lines).strip() for s in sections
             if s.question}
    assert found == ANSWERS


def test_noisy_headings_match():
    refs = number_questions(QUESTIONS)
    assert match_heading("Qucstion 2", refs)[0].key == "q2"
    assert match_heading("Question l:", refs)[0].key == "q1"
    assert match_heading("Q3. Anything else?", refs)[0].key == "q3"
    assert match_heading("Cwestiwn 2", refs)[0].key == "q2"
    assert match_heading("What impact wou1d the change to bus routcs have on you?",
                         refs)[0].key == "q2"
    assert match_heading("Quite a lot of people agree", refs) is None
    assert match_heading("Question 7", refs) is None
    found = match_heading("Q1: Yes, definitely because of the buses", refs)
    assert found[0].key == "q1" and found[2].startswith("Yes")


def test_split_responses_keep_heading_and_pages():
    pages = [["Dear team,", "Question 1", ANSWERS["q1"]], ["Question 2", ANSWERS["q2"],
                                                           "Question 3", ANSWERS["q3"]]]
    data = samples.text_pdf(pages)
    processor = DocumentProcessor(DocumentOptions(), QUESTIONS)
    document = DocumentFile("r1.pdf", "r1.pdf", len(data), lambda: data)
    responses = list(processor.run(_set(document), Linker(DocumentOptions(), [])))
    by_question = {r.question: r for r in responses}
    assert set(by_question) == {"q1", "q2", "q3"}
    assert by_question["q1"].text == ANSWERS["q1"]
    assert by_question["q1"].source["preamble"] == "Dear team,"
    assert by_question["q2"].source["pages"] == [2, 2]
    assert by_question["q3"].source["heading"] == "Question 3"
    assert by_question["q3"].source["split_by"] == "heading"
    assert processor.report.splits[0]["file"] == "r1.pdf"
    # a manifest's question wins: no splitting
    manifest = b"file,respondent_id,question_id\nr1.pdf,A,q3\n"
    linker = Linker(DocumentOptions(), [("m.csv", manifest)])
    whole = list(DocumentProcessor(DocumentOptions(), QUESTIONS).run(_set(document), linker))
    assert [r.question for r in whole] == ["q3"]


# --- OCR -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scans():
    """Rendered once per session: clean and noisy English letters and a Welsh one."""
    return {
        "clean": (samples.letter_text(11), samples.render_letter(samples.letter_text(11), seed=11,
                                                                 noise=0.0)),
        "noisy": (samples.letter_text(12), samples.render_letter(samples.letter_text(12), seed=12,
                                                                 noise=0.01)),
        "welsh": (samples.letter_text(13, welsh=True),
                  samples.render_letter(samples.letter_text(13, welsh=True), seed=13)),
    }


@needs_ocr
def test_ocr_accuracy_on_skewed_scans(scans):
    for name in ("clean", "noisy"):
        reference, image = scans[name]
        extracted = extract(f"{name}.png", samples.image_bytes(image))
        page = extracted.pages[0]
        assert page.method == "ocr" and page.confidence > 70
        accuracy = samples.character_accuracy(reference, page.text)
        assert accuracy >= 0.95, (name, accuracy, page.text)


@needs_ocr
def test_welsh_scan_is_read_in_welsh(scans):
    reference, image = scans["welsh"]
    data = samples.image_bytes(image, "TIFF")
    processor = DocumentProcessor(DocumentOptions(), [])
    document = DocumentFile("llythyr.tif", "llythyr.tif", len(data), lambda: data)
    [response] = processor.run(_set(document), Linker(DocumentOptions(), []))
    assert response.source["language"] == "cy"
    assert samples.character_accuracy(reference, response.text) >= 0.9
    assert "hŷn" in response.text or "hyn" in response.text


@needs_ocr
def test_image_only_pdf_is_ocrd_and_low_confidence_flagged(scans):
    data = samples.image_pdf([scans["clean"][1], scans["noisy"][1]])
    options = DocumentOptions(min_confidence=99.5)  # flag every page
    document = DocumentFile("scan.pdf", "scan.pdf", len(data), lambda: data)
    [response] = DocumentProcessor(options, []).run(_set(document), Linker(options, []))
    assert response.source["method"] == "ocr"
    assert response.source["pages"] == [1, 2]
    assert set(response.source["ocr_confidence"]) == {"1", "2"}
    assert response.source["needs_check"] is True
    assert response.source["low_confidence_pages"] == [1, 2]
    assert samples.character_accuracy(scans["clean"][0] + " " + scans["noisy"][0],
                                      response.text) > 0.9


# --- import end to end -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, scans):
    """100 mixed documents (generated once): text PDFs, DOCX, ODT, TXT, HTML, EML and MSG
    with an attachment, scans, an image-only PDF, a zip, and bad ones; plus the expected
    links."""
    root = tmp_path_factory.mktemp("corpus") / "letters"
    root.mkdir()
    written: list[str] = []

    def put(name: str, data: bytes) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        written.append(name)

    for i in range(100 - 14):
        text = samples.letter_text(100 + i, points=2)
        kind = i % 6
        respondent = f"R{i:03d}"
        if kind == 0:
            put(f"{respondent}_letter.pdf", samples.text_pdf([samples.wrap(text, 70)]))
        elif kind == 1:
            put(f"{respondent}_reply.docx", samples.docx_bytes(text.split("\n\n")))
        elif kind == 2:
            put(f"{respondent}_reply.odt", samples.odt_bytes(text.split("\n\n")))
        elif kind == 3:
            put(f"{respondent}_note.txt", text.encode())
        elif kind == 4:
            put(f"{respondent}_page.html", f"<html><body><p>{text}</p></body></html>".encode())
        else:
            answers = {key: ANSWERS[key] + f" ({respondent})" for key, _ in QUESTIONS}
            put(f"{respondent}_answers.docx",
                samples.docx_bytes(samples.multi_question_text(answers).split("\n")))
    put("R900_mail.eml", samples.eml_bytes("Please see my attached letter.", [
        ("letter.pdf", samples.text_pdf([samples.wrap(samples.letter_text(900), 70)]))]))
    mail = msg_bytes("Bus routes", "My letter about the bus routes is attached.", [
        ("letter.pdf", samples.text_pdf([samples.wrap(samples.letter_text(911), 70)]))])
    put("R911_mail.msg", mail)
    put("R901_scan.png", samples.image_bytes(scans["clean"][1]))
    put("R902_scan.jpg", samples.image_bytes(scans["noisy"][1].convert("RGB"), "JPEG"))
    put("R903_scan.pdf", samples.image_pdf([scans["clean"][1]]))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("inner/one.txt", "A response in an archive about parking charges.")
    put("R904_bundle.zip", archive.getvalue())
    put("nobody.txt", b"A response with no respondent id in its name about bus routes.")
    put("bad/R905_empty.pdf", b"")
    put("bad/R906_broken.pdf", b"%PDF-1.4 \x00\x01 broken")
    put("bad/R907_locked.pdf", _encrypted_pdf())
    put("bad/R908_blank.txt", b"   \n  ")
    put("bad/R909_broken.docx", b"PK\x03\x04 not really")
    put("bad/R910_big.txt", b"words " * 400_000)
    put("bad/R912_broken.msg", mail[:1536])
    (root / ".DS_Store").write_bytes(b"\0\0")
    mapping = root.parent / "mapping.toml"
    mapping.write_text(
        '[documents]\npattern = "{respondent}_{anything}"\nmax_size_mb = 2\n'
        '[documents.questions]\n' + "".join(f'{k} = "{t}"\n' for k, t in QUESTIONS)
    )
    assert len(written) == 100
    return root, mapping, written


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_import_100_mixed_documents_end_to_end(corpus, tmp_path, heard_home, monkeypatch):
    from django.conf import settings

    from heard.store.models import ImportBatch, Question, Response

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    root, mapping, written = corpus
    preview = json.loads(heard("import", str(root), "-c", "letters", "--mapping", str(mapping),
                               "--dry-run", "--json"))
    assert preview["documents"]["files"] == 100
    assert Response.objects.count() == 0
    out = heard("import", str(root), "-c", "letters", "--mapping", str(mapping))
    assert "Unprocessable" in out

    batch = ImportBatch.objects.get()
    report = batch.report["documents"]
    assert report["files"] == 100
    assert report["skipped"] == [{"file": ".DS_Store", "reason": "hidden or system file"}]
    responses = list(Response.objects.filter(question__consultation__name="letters")
                     .select_related("respondent", "question"))
    # every document accounted for: each has at least one response (itself or a part)
    tops = {r.source.get("in", r.source["file"]).split("/")[0] if "in" in r.source
            and not r.source["file"].startswith("bad/") else r.source["file"] for r in responses}
    for name in written:
        top = name.split("/")[0] if not name.startswith("bad/") else name
        assert any(t == top or t.startswith(top) for t in tops), name
    unreadable = {r.source["file"]: r for r in responses if r.outcome == "unprocessable"}
    assert set(unreadable) == {"bad/R905_empty.pdf", "bad/R906_broken.pdf",
                               "bad/R907_locked.pdf", "bad/R908_blank.txt",
                               "bad/R909_broken.docx", "bad/R910_big.txt",
                               "bad/R912_broken.msg"}
    assert all(r.outcome_reason and r.is_empty for r in unreadable.values())
    assert "password" in unreadable["bad/R907_locked.pdf"].outcome_reason
    assert {u["file"] for u in report["unprocessable"]} == set(unreadable)
    # links by pattern, the unlinked one is its own respondent
    assert Response.objects.filter(respondent__key="nobody.txt").count() == 1
    assert Response.objects.filter(respondent__key="R900").count() == 2  # body + attachment
    mail = {r.source["file"]: r for r in responses if r.respondent.key == "R911"}
    assert set(mail) == {"R911_mail.msg", "R911_mail.msg/letter.pdf"}
    assert mail["R911_mail.msg"].source["subject"] == "Bus routes"
    assert mail["R911_mail.msg/letter.pdf"].source["in"] == "R911_mail.msg"
    assert "incomplete OLE sector" in unreadable["bad/R912_broken.msg"].outcome_reason
    assert report["links"] == {"pattern": 99, "own": 1}
    # multi-question documents were split onto q1..q3
    split = [r for r in responses if r.source.get("split_by") == "heading"]
    assert len(split) == 3 * 14
    assert all(ANSWERS[r.question.key] in r.text for r in split)
    # OCR'd documents carry page confidences; the originals are kept by hash
    ocr = [r for r in responses if r.source.get("method") == "ocr"]
    assert len(ocr) == 3 and all(r.source["ocr_confidence"] for r in ocr)
    for response in responses:
        if "document" in response.source:
            assert (heard_home / response.source["document"]).exists()
    assert sum(q["responses"] for q in batch.report["questions"]) == len(responses)

    # importing the same folder again is refused
    result = CliRunner().invoke(__import__("heard.cli", fromlist=["main"]).main,
                                ["import", str(root), "-c", "letters", "--mapping", str(mapping)])
    assert result.exit_code == 1 and "already imported" in result.output

    heard("analyse", "letters", "--embedder", "static", "--seed", "1")
    export = tmp_path / "letters.csv"
    heard("export", "letters", "-o", str(export))
    with export.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(responses)
    assert not Response.objects.filter(question__consultation__name="letters",
                                       outcome="pending").exists()
    # the analysis keeps what import found unreadable, with its reason
    still = {r["response_id"]: r for r in rows if r["outcome"] == "unprocessable"}
    assert len(still) == len(unreadable)
    assert all(r["outcome_reason"] for r in still.values())

    # the report counts the documents' responses, question by question
    report_file = tmp_path / "letters-report.html"
    heard("report", "letters", "--format", "html", "-o", str(report_file))
    page = _visible_text(report_file.read_text(encoding="utf-8"))
    # "with an answer": every response to a question but "No substantive answer" (an
    # unreadable document was sent with an answer, so it counts; it is unprocessable)
    answered = Response.objects.filter(
        question__consultation__name="letters", question__kind__in=["open", "closed"],
    ).exclude(outcome=Response.Outcome.EMPTY)
    shown = re.search(r"([\d,]+) responses with an answer", page)
    assert shown and shown.group(1) == f"{answered.count():,}", shown
    assert f"{len({r.respondent.key for r in responses})} respondents" in page
    for question in Question.objects.filter(consultation__name="letters"):
        outcomes = Counter(question.responses.values_list("outcome", flat=True))
        total = sum(outcomes.values())
        assert f"Open question. {total} responses:" in page, question.key
        caveat = re.search(rf"{question.key}: (\d+) responses matched no theme[^.]*? and (\d+) "
                           r"gave no substantive answer, out of (\d+)\.", page)
        assert caveat, question.key
        assert tuple(map(int, caveat.groups())) == (outcomes["other"], outcomes["empty"], total)
    # unreadable documents are among the documents question's responses (see
    # test_report_names_unprocessable_documents for how the report should show them)
    assert {r.question.key for r in unreadable.values()} == {"documents"}


def _visible_text(markup: str) -> str:
    """An HTML report's text, tags dropped and whitespace collapsed."""
    import html

    markup = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.mark.django_db(transaction=True)
def test_report_names_unprocessable_documents(tmp_path, heard_home, monkeypatch):
    """A documents-only import, analysed and reported: the documents that could not be read
    are counted apart from the substantive answers, and the report says so."""
    from django.conf import settings

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    folder = tmp_path / "letters"
    folder.mkdir()
    for n in range(6):
        (folder / f"R{n}_letter.txt").write_text(samples.letter_text(40 + n, points=2))
    mail = msg_bytes("Parking", "Please read my attached note.",
                     [("note.txt", b"Parking charges should stay the same for residents.")])
    (folder / "R7_mail.msg").write_bytes(mail)
    (folder / "R8_broken.msg").write_bytes(mail[:1536])
    (folder / "R9_broken.pdf").write_bytes(b"%PDF-1.4 \x00\x01 broken")
    heard("import", str(folder), "-c", "notes")
    heard("analyse", "notes", "--embedder", "static", "--seed", "1")
    report_file = tmp_path / "notes-report.html"
    heard("report", "notes", "--format", "html", "-o", str(report_file))
    page = _visible_text(report_file.read_text(encoding="utf-8"))
    total = 6 + 2 + 2  # letters, the e-mail and its attachment, the two unreadable files
    assert f"Open question. {total} responses:" in page  # holds today
    assert re.search(r"unprocessable|could not be read", page, re.I)
    substantive = re.search(r"Open question\. \d+ responses: (\d+) substantive", page)
    assert substantive and int(substantive.group(1)) <= total - 2


@pytest.mark.django_db(transaction=True)
def test_documents_beside_a_regulations_gov_export(tmp_path, heard_home, monkeypatch):
    """Attachments named as regulations.gov lists them link to their comment's respondent."""
    from django.conf import settings

    from heard.store.models import Response

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    source = shared_dataset("cms_rfi") / "CMS-2025-0050-0031.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [next(reader) for _ in range(40)]
    export = tmp_path / "comments.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    column = header.index("Attachment Files")
    ids = header.index("Document ID")
    linked = [(row[ids], row[column].split(",")[0]) for row in rows if row[column]][:3]
    assert linked, "the sample has comments with attachments"
    folder = tmp_path / "attachments"
    for document_id, url in linked:
        name = url.rsplit("/", 1)[-1].replace(".pdf", ".txt")
        target = folder / document_id / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"Attachment text for {document_id} about interoperability.")
    split_tables, documents = split_inputs([export, folder])
    assert split_tables == [export] and documents is not None
    # the listed name ends in .pdf; a .txt of the same stem is not the listed file
    (folder / linked[0][0] / "attachment_1.txt").rename(folder / linked[0][0] / "attachment_1.pdf")
    (folder / linked[0][0] / "attachment_1.pdf").write_bytes(samples.text_pdf([[
        f"Attachment text for {linked[0][0]} about interoperability."]]))
    heard("import", str(export), str(folder), "-c", "cms")
    attached = Response.objects.get(question__key="documents",
                                    source__file=f"{linked[0][0]}/attachment_1.pdf")
    assert attached.respondent.key == linked[0][0]
    assert attached.source["link"] == "column"
    assert Response.objects.filter(question__key="comment",
                                   respondent__key=linked[0][0]).exists()


def test_split_inputs_keeps_spreadsheets_and_evaluation_folders(tmp_path):
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "responses.csv").write_text("response_id,question_id,text\n")
    (tmp_path / "answers.csv").write_text("id,q\n1,a\n")
    (tmp_path / "answers.txt").write_text("id,q\n1,a\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello")
    (tmp_path / "manifest.csv").write_text("file,respondent_id\na.txt,R1\n")
    tables, documents = split_inputs([tmp_path / "eval", tmp_path / "answers.csv",
                                      tmp_path / "answers.txt", tmp_path / "docs",
                                      tmp_path / "manifest.csv"])
    assert tables == [tmp_path / "eval", tmp_path / "answers.csv", tmp_path / "answers.txt"]
    assert [f.display for f in documents.files] == ["docs/a.txt"]
    assert [m[0] for m in documents.manifests] == ["manifest.csv"]


def test_extract_options_turn_ocr_off():
    image = samples.image_bytes(samples.render_letter("Hi", seed=2))
    with pytest.raises(Unprocessable, match="turned off"):
        extract("scan.png", image, ExtractOptions(ocr=False))


FIXTURES = Path(__file__).parent / "fixtures" / "documents"
