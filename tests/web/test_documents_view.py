"""Responses that came from documents: the page images, OCR confidence and the original."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from heard.store.models import Response

from .conftest import ROLES


@pytest.fixture(autouse=True)
def _heard_home(settings, tmp_path) -> Path:
    """A fresh HEARD_HOME holding the stored originals."""
    settings.HEARD_HOME = tmp_path / "home"
    return settings.HEARD_HOME


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (60, 80)) -> bytes:
    """A small page-like image (white with a dark bar), as PNG or PDF."""
    image = Image.new("RGB", size, "white")
    image.paste((20, 20, 20), (5, 10, size[0] - 5, 20))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def store(data: bytes, suffix: str) -> str:
    """Copy ``data`` into HEARD_HOME/documents as the import does; its ``source.document``."""
    folder = Path(settings.HEARD_HOME) / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{hashlib.sha256(data).hexdigest()}{suffix}"
    (folder / name).write_bytes(data)
    return f"documents/{name}"


def attach_document(response: Response, kind: str = "png", **extra) -> Response:
    """Give ``response`` the source of a scanned one-page letter read by OCR."""
    data = image_bytes("PDF" if kind == "pdf" else "PNG")
    source = {
        "file": f"letters/letter-{response.pk}.{kind}",
        "format": "pdf" if kind == "pdf" else "image",
        "document": store(data, f".{kind}"),
        "method": "ocr",
        "page": 1,
        "pages": [1, 1],
        "page_count": 1,
        "ocr_confidence": {"1": 41.5},
        "needs_check": True,
        "low_confidence_pages": [1],
        **extra,
    }
    response.source = source
    response.save(update_fields=["source"])
    return response


def with_document(built) -> Response:
    """The first response of a built consultation, now read from a stored PNG scan."""
    return attach_document(built.responses[0])


def _page_url(response: Response, page: int = 1, name: str = "own") -> str:
    return reverse("heard:response-page", args=[name, response.pk, page])


def _reader(client, response: Response, name: str = "own") -> str:
    reply = client.get(reverse("heard:response", args=[name, response.pk]))
    assert reply.status_code == 200
    return reply.content.decode()


def test_reader_shows_page_image_confidence_and_warning(as_role, own):
    response = attach_document(own.responses[0])
    page = _reader(as_role("viewer"), response)
    assert f'src="{_page_url(response)}"' in page
    assert f'alt="Page 1 of the original document letters/letter-{response.pk}.png"' in page
    assert 'class="govuk-warning-text"' in page
    assert "Needs checking: low OCR confidence on page 1" in page
    assert "How each page was read" in page  # the table's caption
    assert "42%" in page  # the page's OCR confidence, rounded
    assert "Text read by OCR" in page
    assert reverse("heard:response-original", args=["own", response.pk]) in page


def test_reader_of_a_text_layer_pdf_has_no_warning(as_role, own):
    response = attach_document(own.responses[1], "pdf", method="text-layer", ocr_confidence={},
                               needs_check=False, low_confidence_pages=[])
    page = _reader(as_role("viewer"), response)
    assert "govuk-warning-text" not in page
    assert "Text layer" in page
    assert f'src="{_page_url(response)}"' in page


def test_reader_without_a_document_is_unchanged(as_role, own):
    page = _reader(as_role("viewer"), own.responses[2])
    assert "Original document" not in page
    assert "govuk-warning-text" not in page


def test_png_page_is_served_as_stored(as_role, own):
    response = attach_document(own.responses[0])
    reply = as_role("viewer").get(_page_url(response))
    assert reply.status_code == 200
    assert reply["Content-Type"] == "image/png"
    stored = Path(settings.HEARD_HOME) / response.source["document"]
    assert b"".join(reply.streaming_content) == stored.read_bytes()


@pytest.mark.parametrize("role", ROLES)
def test_pdf_page_is_rendered_as_png_and_cached(as_role, own, role):
    response = attach_document(own.responses[0], "pdf")
    reply = as_role(role).get(_page_url(response))
    assert reply.status_code == 200
    assert reply["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(reply.streaming_content)))
    assert image.format == "PNG" and image.width > 0
    cached = list((Path(settings.HEARD_HOME) / "cache" / "pages").glob("*.png"))
    assert len(cached) == 1


def test_missing_page_and_missing_file_answer_404(as_role, own):
    client = as_role("viewer")
    response = attach_document(own.responses[0], "pdf")
    reply = client.get(_page_url(response, page=2))
    assert reply.status_code == 404
    assert "no page 2" in reply.content.decode()
    (Path(settings.HEARD_HOME) / response.source["document"]).unlink()
    reply = client.get(_page_url(response))
    assert reply.status_code == 404
    assert "no stored original" in reply.content.decode()
    assert client.get(_page_url(own.responses[3])).status_code == 404  # no document at all


def test_other_consultation_answers_404(as_role, own, other):
    response = attach_document(other.responses[0], "pdf")
    client = as_role("admin")  # admin of `own` only
    assert client.get(_page_url(response, name="other")).status_code == 404
    assert client.get(_page_url(response, name="own")).status_code == 404  # wrong consultation
    original = reverse("heard:response-original", args=["other", response.pk])
    assert client.get(original).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, own):
    response = attach_document(own.responses[0])
    reply = client.get(_page_url(response))
    assert reply.status_code == 302
    assert reply["Location"].startswith(reverse("heard:sign-in"))


@pytest.mark.parametrize("document", [
    "../secret.png",
    "documents/../secret.png",
    "cache/secret.png",
    "SECRET_ABSOLUTE",
    "documents/linked.png",
])
def test_source_path_outside_the_documents_folder_is_refused(as_role, own, tmp_path, document):
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes())
    home = Path(settings.HEARD_HOME)
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "secret.png").write_bytes(image_bytes())
    (home / "secret.png").write_bytes(image_bytes())
    (home / "documents").mkdir()
    (home / "documents" / "linked.png").symlink_to(secret)
    if document == "SECRET_ABSOLUTE":
        document = str(secret)
    response = attach_document(own.responses[0])
    response.source = {**response.source, "document": document}
    response.save(update_fields=["source"])
    client = as_role("viewer")
    assert client.get(_page_url(response)).status_code == 404
    original = reverse("heard:response-original", args=["own", response.pk])
    assert client.get(original).status_code == 404
    page = _reader(client, response)
    assert "not stored on this server" in page
    assert _page_url(response) not in page


def test_original_is_downloaded_with_its_name(as_role, own):
    response = attach_document(own.responses[0], "pdf")
    reply = as_role("viewer").get(reverse("heard:response-original",
                                          args=["own", response.pk]))
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/pdf"
    assert "attachment" in reply["Content-Disposition"]
    assert f"letter-{response.pk}.pdf" in reply["Content-Disposition"]
    assert b"".join(reply.streaming_content).startswith(b"%PDF")


def test_scans_in_other_formats_are_converted_and_damaged_files_answer_404(as_role, own):
    frames = [Image.new("L", (40, 50), shade) for shade in (255, 128)]
    tiff = io.BytesIO()
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    response = attach_document(own.responses[0], pages=[1, 2], page_count=2)
    response.source = {**response.source, "document": store(tiff.getvalue(), ".tiff")}
    response.save(update_fields=["source"])
    client = as_role("viewer")
    reply = client.get(_page_url(response, page=2))
    assert reply.status_code == 200 and reply["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(reply.streaming_content)))
    assert image.format == "PNG" and image.getpixel((0, 0)) == 128
    assert client.get(_page_url(response, page=3)).status_code == 404
    response.source = {**response.source, "document": store(b"%PDF-1.4 broken", ".pdf")}
    response.save(update_fields=["source"])
    reply = client.get(_page_url(response))
    assert reply.status_code == 404
    assert "could not be opened" in reply.content.decode()
