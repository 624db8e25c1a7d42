"""Text out of one document: PDF, DOCX, ODT, TXT, HTML, EML, MSG and images.

:func:`extract` takes a file name and its bytes and returns the text page by page, how each
page was read (``text-layer``, ``ocr`` or ``text``), the OCR confidence, and the files an
e-mail carried. A document that cannot be read raises :class:`Unprocessable` with a reason
a person can act on; nothing here raises anything else for bad input.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import threading
import zipfile
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from heard.io.documents import ocr as ocr_module
from heard.io.documents.plaintext import decode_text, html_to_text
from heard.io.documents.types import (
    Attachment,
    Extracted,
    ExtractOptions,
    Page,
    Unprocessable,
)

TEXT_SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "txt"}
FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".htm": "html",
    ".html": "html",
    ".eml": "eml",
    ".msg": "msg",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    **TEXT_SUFFIXES,
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MIN_PAGE_CHARS = 20  # a PDF page with fewer letters/digits in its text layer is OCR'd
RENDER_DPI = 300


def document_format(name: str) -> str | None:
    """The document format named by the file's extension, or None."""
    return FORMATS.get(PurePosixPath(name).suffix.lower())


def extract(name: str, data: bytes, options: ExtractOptions | None = None) -> Extracted:
    """Read one document; raises :class:`Unprocessable` with the reason when it cannot."""
    options = options or ExtractOptions()
    fmt = document_format(name)
    if fmt is None:
        suffix = PurePosixPath(name).suffix or "(no extension)"
        raise Unprocessable(f"unsupported file type {suffix}; Heard reads "
                            + ", ".join(sorted({s for s in FORMATS})))
    if not data:
        raise Unprocessable("the file is empty (0 bytes)")
    reader = _READERS[fmt]
    try:
        return reader(data, options)
    except Unprocessable:
        raise
    except ocr_module.OcrUnavailable as exc:
        raise Unprocessable(str(exc)) from None
    except ImportError as exc:
        raise Unprocessable(f"reading {fmt.upper()} files needs the {exc.name} package: "
                            "pip install 'heard[documents]'") from None
    except MemoryError:
        raise Unprocessable("the document is too large to read in memory") from None
    except Exception as exc:  # a damaged file must never stop an import
        raise Unprocessable(f"damaged or unreadable {fmt.upper()} file "
                            f"({type(exc).__name__}: {str(exc)[:120]})") from None


# --- OCR --------------------------------------------------------------------------------------


class _Ocr:
    """OCR for the pages of one document: picks the languages once, on the first page."""

    def __init__(self, options: ExtractOptions) -> None:
        self.options = options
        self.languages: str | None = (
            None if options.ocr_languages == "auto" else options.ocr_languages
        )

    def page(self, image, number: int | None) -> Page:
        if not self.options.ocr:
            raise Unprocessable("this document needs OCR, which is turned off ([documents] ocr)")
        if self.languages is None:
            first = ocr_module.ocr_image(image, "eng")
            self.languages = "eng"
            if "cym" in ocr_module.available_languages() and _is_welsh(first.text):
                self.languages = "cym+eng"
            else:
                return Page(number, first.text, "ocr", first.confidence)
        result = ocr_module.ocr_image(image, self.languages)
        return Page(number, result.text, "ocr", result.confidence)


def _is_welsh(text: str) -> bool:
    from heard.analysis.prepare import LanguageDetector

    return LanguageDetector(languages=["en", "cy"]).detect(text)[0] == "cy"


# --- formats ----------------------------------------------------------------------------------


def _letters(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def read_pdf(data: bytes, options: ExtractOptions) -> Extracted:
    """Text layer page by page; pages without one are rendered and OCR'd."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damage is reported as the outcome

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise Unprocessable("not a PDF file (it does not start with %PDF); it may be damaged "
                            "or have the wrong extension")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except PdfReadError as exc:
        raise Unprocessable(f"damaged PDF ({str(exc)[:120]})") from None
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception:  # unsupported algorithm or missing crypto library
            opened = 0
        if not opened:
            raise Unprocessable("the PDF is encrypted with a password; ask the respondent for "
                                "an unprotected copy, or remove the password and import again")
    pages: list[Page] = []
    missing: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:
            text = ""
        pages.append(Page(number, text, "text-layer"))
        if _letters(text) < MIN_PAGE_CHARS:
            missing.append(number)
    notes: list[str] = []
    if missing:
        try:
            images = _render_pdf_pages(data, missing)
        except ocr_module.OcrUnavailable as exc:
            if len(missing) == len(pages):
                raise
            images = {}
            notes.append(f"pages {missing} have no text layer and were not read: {exc}")
        engine = _Ocr(options)
        for number, image in images.items():
            page = engine.page(image, number)
            if _letters(page.text) >= _letters(pages[number - 1].text):
                pages[number - 1] = page
    meta = {}
    try:
        title = reader.metadata.title if reader.metadata else None
        if title:
            meta["title"] = str(title)[:200]
    except Exception:
        pass
    return Extracted("pdf", pages, meta=meta, notes=notes)


# PDFium is not thread-safe: every use in the process (import, web page images) holds this.
PDFIUM_LOCK = threading.Lock()


def _render_pdf_pages(data: bytes, numbers: list[int]) -> dict[int, Any]:
    ocr_module.check_available("eng")
    try:
        import pypdfium2
    except ImportError:
        raise ocr_module.OcrUnavailable(
            "this PDF has pages without a text layer; reading them needs pypdfium2: "
            "pip install 'heard[ocr]'"
        ) from None
    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(data)
        try:
            return {
                n: document[n - 1].render(scale=RENDER_DPI / 72).to_pil() for n in numbers
            }
        finally:
            document.close()


def read_image(data: bytes, options: ExtractOptions) -> Extracted:
    """Every frame of a PNG, JPEG or (multi-page) TIFF, through OCR."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise Unprocessable(f"damaged or unknown image ({str(exc)[:100]})") from None
    except Image.DecompressionBombError:
        raise Unprocessable("the image is too large (more pixels than Pillow's safety "
                            "limit)") from None
    engine = _Ocr(options)
    pages = [engine.page(frame, number) for number, frame in enumerate(frames, start=1)]
    return Extracted("image", pages)


def _zip(data: bytes, kind: str) -> zipfile.ZipFile:
    if data.startswith(OLE_MAGIC):
        raise Unprocessable(f"this {kind} file is password-protected (or an old binary Office "
                            "file with the wrong extension); save an unprotected copy")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Unprocessable(f"damaged {kind} file (not a valid ZIP container)") from None


def read_docx(data: bytes, options: ExtractOptions) -> Extracted:
    """Paragraphs and table cells of a Word document, in order."""
    import docx
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    _zip(data, "DOCX").close()
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(block, document).text)
        elif tag == "tbl":
            for row in DocxTable(block, document).rows:
                cells = []
                for cell in row.cells:
                    if cell.text.strip() and cell.text not in cells:
                        cells.append(cell.text)
                lines.append(" | ".join(cells))
    meta = {}
    if document.core_properties.title:
        meta["title"] = document.core_properties.title[:200]
    return Extracted("docx", [Page(None, "\n".join(lines), "text")], meta=meta)


_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _odf_text(element: ElementTree.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{{{_ODF_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1")))
        elif tag == f"{{{_ODF_TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{_ODF_TEXT}}}line-break":
            parts.append("\n")
        elif tag != f"{{{_ODF_TEXT}}}note":
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def read_odt(data: bytes, options: ExtractOptions) -> Extracted:
    """Headings and paragraphs of an OpenDocument text file (content.xml), in order."""
    with _zip(data, "ODT") as archive:
        if "content.xml" not in archive.namelist():
            raise Unprocessable("damaged ODT file (no content.xml)")
        names = set(archive.namelist())
        manifest = archive.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names \
            else b""
        if b"encryption-data" in manifest:
            raise Unprocessable("the ODT file is password-protected; save an unprotected copy")
        root = ElementTree.fromstring(archive.read("content.xml"))
    body = root.find(f"{{{_ODF_OFFICE}}}body")
    lines: list[str] = []
    wanted = {f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"}
    for element in (body if body is not None else root).iter():
        if element.tag in wanted:
            lines.append(_odf_text(element))
    return Extracted("odt", [Page(None, "\n".join(lines), "text")])


def read_txt(data: bytes, options: ExtractOptions) -> Extracted:
    text = decode_text(data)
    pages = [Page(n, part, "text") for n, part in enumerate(text.split("\f"), start=1)]
    if len(pages) == 1:
        pages[0].number = None
    return Extracted("txt", pages)


def read_html(data: bytes, options: ExtractOptions) -> Extracted:
    head = data[:2048].decode("ascii", "replace")
    match = re.search(r"charset=[\"']?([\w-]+)", head, re.I)
    text = None
    if match:
        try:
            text = data.decode(match.group(1), "replace")
        except LookupError:
            text = None
    body, title = html_to_text(text if text is not None else decode_text(data))
    return Extracted("html", [Page(None, body, "text")], meta={"title": title} if title else {})


def read_eml(data: bytes, options: ExtractOptions) -> Extracted:
    """An e-mail's body (plain text, else HTML) and its attached files."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not message.keys():
        raise Unprocessable("not an e-mail message (no headers)")
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        content = body_part.get_content()
        body = html_to_text(content)[0] if body_part.get_content_type() == "text/html" \
            else str(content)
    attachments = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        payload = part.get_payload(decode=True)
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            payload = inner.as_bytes() if hasattr(inner, "as_bytes") else None
            name = part.get_filename() or f"attached-message-{number}.eml"
        else:
            name = part.get_filename() or f"attachment-{number}"
        if payload is not None:
            attachments.append(Attachment(PurePosixPath(name).name or f"attachment-{number}",
                                          payload))
    meta = {k: str(message[k])[:200] for k in ("Subject", "Date") if message[k]}
    return Extracted("eml", [Page(None, body, "text")], attachments, meta={
        k.lower(): v for k, v in meta.items()})


def read_msg(data: bytes, options: ExtractOptions) -> Extracted:
    from heard.io.documents.msg import read_msg_file

    body, subject, attachments = read_msg_file(data)
    return Extracted(
        "msg", [Page(None, body, "text")],
        [
            Attachment(name, payload if isinstance(payload, bytes) else b"",
                       "" if isinstance(payload, bytes) else payload.reason)
            for name, payload in attachments
        ],
        meta={"subject": subject[:200]} if subject else {},
    )


_READERS = {
    "pdf": read_pdf,
    "docx": read_docx,
    "odt": read_odt,
    "txt": read_txt,
    "html": read_html,
    "eml": read_eml,
    "msg": read_msg,
    "image": read_image,
}
