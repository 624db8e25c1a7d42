"""Synthetic documents for tests and benchmarks: text PDFs, ODT, DOCX, e-mails and scans.

Everything is generated from a seed, so a corpus is the same on every machine. Scans are
typed letters drawn with a DejaVu font, rotated a little and sprinkled with noise.
"""

from __future__ import annotations

import io
import random
import zipfile
from email.message import EmailMessage
from pathlib import Path

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

_OPENINGS = [
    "I am writing to respond to the consultation on opening hours.",
    "Thank you for the chance to comment on the proposals for the town centre.",
    "Our residents association met last week to discuss the plans.",
    "As a parent of two children at the local school I have some concerns.",
]
_POINTS = [
    "The bus service on Sundays is not frequent enough for people who work in shops.",
    "Parking charges should stay the same because small businesses are struggling.",
    "The library is a warm and safe place for older people in the winter months.",
    "Cycle lanes on the high street would make the journey to school much safer.",
    "We need more public toilets near the park, especially for families and carers.",
    "Extending the opening hours would help people who cannot visit during the day.",
    "The consultation documents were hard to find and the deadline was too short.",
    "Street lighting on the footpath by the river has been broken for three months.",
    "Local shops depend on passing trade and the road closure would harm them.",
    "The council should publish the cost of each option before making a decision.",
]
_WELSH = [
    "Rwy'n ysgrifennu i ymateb i'r ymgynghoriad ar oriau agor y llyfrgell.",
    "Mae'r gwasanaeth bws ar ddydd Sul yn rhy brin i bobl sy'n gweithio.",
    "Dylai'r cyngor gyhoeddi cost pob dewis cyn gwneud penderfyniad.",
    "Mae'r llyfrgell yn lle cynnes a diogel i bobl hŷn yn ystod y gaeaf.",
    "Byddai lonydd beicio ar y stryd fawr yn gwneud y daith i'r ysgol yn fwy diogel.",
]


def font_path(name: str = "DejaVuSans.ttf") -> Path:
    """A DejaVu font from the system (Debian's fonts-dejavu-core)."""
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{name} not found; install fonts-dejavu-core")


def letter_text(seed: int, *, welsh: bool = False, points: int = 3) -> str:
    """A short typed letter, in paragraphs, from a seed."""
    rng = random.Random(seed)
    if welsh:
        body = rng.sample(_WELSH, k=min(points + 1, len(_WELSH)))
        return "Annwyl Syr neu Fadam,\n\n" + "\n\n".join(body) + "\n\nYn gywir,\nAelod o'r cyhoedd"
    body = [rng.choice(_OPENINGS)] + rng.sample(_POINTS, k=points)
    return "Dear Sir or Madam,\n\n" + "\n\n".join(body) + "\n\nYours faithfully,\nA resident"


def multi_question_text(answers: dict[str, str], *, style: str = "label") -> str:
    """A letter answering several questions under headings ("Question 1", "Q2", text)."""
    parts = ["Dear consultation team,", "", "Please find my answers below.", ""]
    for number, (heading, answer) in enumerate(answers.items(), start=1):
        parts.append(heading if style == "text" else f"Question {number}" if style == "label"
                     else f"Q{number}.")
        parts += [answer, ""]
    return "\n".join(parts)


# --- writers ----------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    data = text.encode("cp1252", "replace").decode("latin-1")
    return data.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf(pages: list[list[str]], *, font_size: int = 11) -> bytes:
    """A PDF with a real text layer: one list of lines per page (Helvetica, WinAnsi)."""
    objects: list[bytes] = []
    page_ids = []
    font_id = 3
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"")  # pages, filled below
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")
    for lines in pages:
        commands = [f"BT /F1 {font_size} Tf {font_size + 4} TL 56 800 Td"]
        for line in lines:
            commands.append(f"({_pdf_string(line)}) Tj T*")
        commands.append("ET")
        stream = "\n".join(commands).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 "
            + str(font_id).encode() + b" 0 R >> >> /Contents " + str(content_id).encode()
            + b" 0 R >>"
        )
        page_ids.append(len(objects))
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()


def wrap(text: str, width: int = 80) -> list[str]:
    """Lines of at most ``width`` characters (paragraphs kept apart by blank lines)."""
    import textwrap

    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, width) or [""]
    return lines


def odt_bytes(paragraphs: list[str]) -> bytes:
    """A minimal OpenDocument text file."""
    from xml.sax.saxutils import escape

    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:text>{body}</office:text></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def docx_bytes(paragraphs: list[str]) -> bytes:
    """A Word document with one paragraph per item."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def eml_bytes(body: str, attachments: list[tuple[str, bytes]] = (), *,
              subject: str = "Consultation response") -> bytes:
    """An e-mail with a plain-text body and attached files."""
    message = EmailMessage()
    message["From"] = "resident@example.org"
    message["To"] = "consultation@example.gov.uk"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Jun 2025 10:00:00 +0100"
    message.set_content(body)
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename=name)
    return message.as_bytes()


# --- scans ------------------------------------------------------------------------------------


def render_letter(text: str, *, seed: int = 0, angle: float | None = None, noise: float = 0.01,
                  width: int = 1654, font_size: int = 34, margin: int = 120):
    """A typed letter as a greyscale scan (about 200 dpi A4 width): skewed 1–3° and noisy."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    font = ImageFont.truetype(str(font_path()), font_size)
    chars = int((width - 2 * margin) / (font_size * 0.55))
    lines = wrap(text, chars)
    line_height = int(font_size * 1.45)
    height = 2 * margin + line_height * len(lines)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * line_height), line, font=font, fill=rng.randint(0, 40))
    angle = angle if angle is not None else rng.choice([-1, 1]) * rng.uniform(1.0, 3.0)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if noise:
        pixels = image.load()
        count = int(image.width * image.height * noise)
        for _ in range(count):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            pixels[x, y] = rng.choice((0, 90, 180, 255))
    return image


def image_bytes(image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def image_pdf(images: list) -> bytes:
    """An image-only PDF (no text layer), one page per image."""
    buffer = io.BytesIO()
    first, *rest = [i.convert("RGB") for i in images]
    first.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=200.0)
    return buffer.getvalue()


# --- accuracy ---------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def character_accuracy(reference: str, hypothesis: str) -> float:
    """1 − CER after folding whitespace: 1.0 is a perfect reading."""
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    if not ref:
        return 1.0 if not hyp else 0.0
    return max(0.0, 1.0 - edit_distance(ref, hyp) / len(ref))
