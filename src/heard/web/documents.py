"""The stored original of a response that came from a document, and images of its pages.

``Response.source["document"]`` names the original as a path relative to ``HEARD_HOME``
(``documents/<sha256>.<ext>``). It is only ever looked up from the response's source and
must resolve to a file directly inside ``HEARD_HOME/documents``; anything else is treated
as missing. Page images are PNG: PNG originals are served as they are, other images are
converted, and PDF pages are rendered with pypdfium2 at a modest scale. Converted and
rendered pages are cached under ``HEARD_HOME/cache/pages``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from heard.io.documents.extract import PDFIUM_LOCK
from heard.paths import private_dir
from heard.store.models import Response

PDF_SCALE = 1.5  # 108 dpi: readable beside the text, and light to send
MAX_SHOWN_PAGES = 20  # page images shown in the reader for one response
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PDFIUM_LOCK = PDFIUM_LOCK  # one lock for every PDFium use in the process
METHOD_LABELS = {
    "text-layer": "Text layer",
    "ocr": "OCR",
    "text": "Text",
    "ocr+text-layer": "Text layer and OCR",
}


class PageUnavailable(LookupError):
    """The document or the page cannot be shown; the message says why."""


def home() -> Path:
    """``HEARD_HOME`` as configured for the web app."""
    return Path(settings.HEARD_HOME)


def stored_original(source: dict[str, Any] | None) -> Path | None:
    """The stored original named by ``source["document"]``, if it is a file directly inside
    ``HEARD_HOME/documents`` (never any other path)."""
    name = (source or {}).get("document")
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    folder = (home() / "documents").resolve()
    try:
        path = (home() / name).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if path.parent != folder or not path.is_file():
        return None
    return path


def page_numbers(source: dict[str, Any]) -> list[int]:
    """The pages of the document this response's text came from (1-based)."""
    pages = source.get("pages")
    if isinstance(pages, list) and len(pages) == 2 and all(isinstance(p, int) for p in pages):
        first, last = pages
        return list(range(max(1, first), max(1, last) + 1))
    if isinstance(source.get("page"), int):
        return [max(1, source["page"])]
    count = source.get("page_count")
    if isinstance(count, int) and count > 0:
        return list(range(1, count + 1))
    return [1]


def has_page_images(path: Path) -> bool:
    """Whether pages of this original can be shown as images (PDFs and scans)."""
    return path.suffix.lower() in IMAGE_SUFFIXES | {".pdf"}


def _cache_path(path: Path, page: int) -> Path:
    stem = path.stem if re.fullmatch(r"[0-9a-f]{16,64}", path.stem) else hashlib.sha256(
        path.name.encode()).hexdigest()
    scale = f"-s{PDF_SCALE:g}" if path.suffix.lower() == ".pdf" else ""
    return home() / "cache" / "pages" / f"{stem}-p{page}{scale}.png"


def _write_atomically(target: Path, data: bytes) -> None:
    private_dir(target.parent)  # rendered pages of respondents' documents
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _render_pdf_page(path: Path, page: int) -> bytes:
    try:
        import pypdfium2
    except ImportError:
        raise PageUnavailable("Showing PDF pages needs pypdfium2: "
                              "pip install 'heard[ocr]'.") from None
    with _PDFIUM_LOCK:
        try:
            document = pypdfium2.PdfDocument(str(path))
        except pypdfium2.PdfiumError:
            raise PageUnavailable("The stored PDF could not be opened.") from None
        try:
            if not 1 <= page <= len(document):
                raise PageUnavailable(f"The document has no page {page}.")
            image = document[page - 1].render(scale=PDF_SCALE).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _convert_image(path: Path, page: int) -> bytes:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            frames = ImageSequence.Iterator(image)
            try:
                frame = frames[page - 1]
            except IndexError:
                raise PageUnavailable(f"The document has no page {page}.") from None
            frame = frame.convert("RGB") if frame.mode not in ("1", "L", "RGB", "RGBA") \
                else frame.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError):
        raise PageUnavailable("The stored image could not be read.") from None
    out = io.BytesIO()
    frame.save(out, format="PNG", optimize=True)
    return out.getvalue()


def page_png(path: Path, page: int) -> Path:
    """A PNG file of ``page`` (1-based) of the stored original at ``path``."""
    suffix = path.suffix.lower()
    if not has_page_images(path):
        raise PageUnavailable("This kind of document has no page images.")
    if page < 1:
        raise PageUnavailable(f"The document has no page {page}.")
    if suffix == ".png" and page == 1:
        with path.open("rb") as handle:
            if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE:
                return path
    cached = _cache_path(path, page)
    if cached.is_file():
        return cached
    data = _render_pdf_page(path, page) if suffix == ".pdf" else _convert_image(path, page)
    _write_atomically(cached, data)
    return cached


@dataclass
class PageInfo:
    """One page of the document as the reader shows it."""

    number: int
    method: str
    confidence: float | None
    needs_check: bool


@dataclass
class DocumentView:
    """What the reader shows about a response's original document."""

    file: str
    download_name: str
    method: str
    pages: list[PageInfo]
    page_count: int | None
    images: bool
    stored: bool
    needs_check: bool
    low_pages: list[int]
    heading: str = ""
    more_pages: int = 0

    @property
    def first_page(self) -> int | None:
        return self.pages[0].number if self.pages else None

    @property
    def last_page(self) -> int | None:
        return self.pages[-1].number if self.pages else None


def _page_method(method: str, number: int, confidence: dict[str, Any]) -> str:
    if str(number) in confidence:
        return "OCR"
    if "text-layer" in method:
        return "Text layer"
    return METHOD_LABELS.get(method, method or "Not recorded")


def document_view(response: Response) -> DocumentView | None:
    """The reader's view of the response's original, or None when it came from no document."""
    source = response.source or {}
    if not isinstance(source, dict) or not source.get("document"):
        return None
    path = stored_original(source)
    method = str(source.get("method") or "")
    confidence = source.get("ocr_confidence")
    confidence = confidence if isinstance(confidence, dict) else {}
    low = sorted(int(p) for p in source.get("low_confidence_pages") or []
                 if str(p).isdigit())
    images = path is not None and has_page_images(path)
    paged = images or any(k in source for k in ("pages", "page", "page_count"))
    numbers = page_numbers(source) if paged else []
    pages = [
        PageInfo(number=n, method=_page_method(method, n, confidence),
                 confidence=confidence.get(str(n)), needs_check=n in low)
        for n in numbers
    ]
    file = str(source.get("file") or "")
    name = PurePosixPath(file).name if file else (path.name if path else "document")
    if path is not None and PurePosixPath(name).suffix.lower() != path.suffix.lower():
        name = f"{name}{path.suffix}"
    count = source.get("page_count")
    return DocumentView(
        file=file or name,
        download_name=name,
        method=METHOD_LABELS.get(method, method or "Not recorded"),
        pages=pages[:MAX_SHOWN_PAGES],
        page_count=count if isinstance(count, int) else None,
        images=images,
        stored=path is not None,
        needs_check=bool(source.get("needs_check")) or bool(low),
        low_pages=low,
        heading=str(source.get("heading") or ""),
        more_pages=max(0, len(pages) - MAX_SHOWN_PAGES),
    )
