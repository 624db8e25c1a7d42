"""Optical character recognition with the Tesseract program (an optional extra).

Tesseract is called as a subprocess with TSV output, which gives every word with its
confidence (0–100). Nothing is downloaded: the language data comes from the system's
packages (``tesseract-ocr-eng``, ``tesseract-ocr-cym``). When the program or a language is
missing, :class:`OcrUnavailable` says exactly what to install.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import subprocess
from dataclasses import dataclass

from PIL import Image, ImageFilter

INSTALL_HINT = (
    "install Tesseract with its English and Welsh data (Debian/Ubuntu: "
    "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-cym) and "
    "pip install 'heard[ocr]'"
)
PAGE_TIMEOUT = 180  # seconds per page
TARGET_WIDTH = 1600  # narrower images are enlarged before recognition


class OcrUnavailable(RuntimeError):
    """OCR is needed but Tesseract (or a language, or pypdfium2) is not installed."""


@dataclass
class OcrPage:
    """The text of one image, with the mean word confidence (0–100) and the word count."""

    text: str
    confidence: float
    words: int
    languages: str


def tesseract_command() -> str | None:
    """The Tesseract program: ``HEARD_TESSERACT`` if set, else ``tesseract`` on PATH."""
    configured = os.environ.get("HEARD_TESSERACT")
    return shutil.which(configured) if configured else shutil.which("tesseract")


@functools.lru_cache(maxsize=4)
def _languages(command: str) -> frozenset[str]:
    try:
        result = subprocess.run(
            [command, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    lines = (result.stdout or result.stderr).splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


def available_languages() -> frozenset[str]:
    """Tesseract language codes installed (``eng``, ``cym``…); empty without Tesseract."""
    command = tesseract_command()
    return _languages(command) if command else frozenset()


def check_available(languages: str = "eng") -> str:
    """The Tesseract command, or :class:`OcrUnavailable` naming what to install."""
    command = tesseract_command()
    if not command:
        raise OcrUnavailable(f"this document needs OCR, but Tesseract is not installed: "
                             f"{INSTALL_HINT}")
    missing = [code for code in languages.split("+") if code not in _languages(command)]
    if missing:
        raise OcrUnavailable(
            f"Tesseract has no {'+'.join(missing)} language data: {INSTALL_HINT}"
        )
    return command


def prepare_image(image: Image.Image) -> Image.Image:
    """Greyscale, flattened onto white, despeckled, enlarged when small (Tesseract likes
    ~300 dpi)."""
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(background, image)
    # a 3×3 median filter removes speckle noise from scans (measured: noisy letters from
    # 0.96 to 0.98 character accuracy, clean ones unchanged; docs/benchmarks.md)
    image = image.convert("L").filter(ImageFilter.MedianFilter(3))
    if image.width < TARGET_WIDTH:
        scale = TARGET_WIDTH / max(image.width, 1)
        image = image.resize((TARGET_WIDTH, max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    return image


def ocr_image(image: Image.Image, languages: str = "eng") -> OcrPage:
    """Recognise the text of one page image with Tesseract."""
    command = check_available(languages)
    buffer = io.BytesIO()
    prepare_image(image).save(buffer, format="PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    try:
        result = subprocess.run(
            [command, "stdin", "stdout", "-l", languages, "--psm", "3", "tsv"],
            input=buffer.getvalue(), capture_output=True, timeout=PAGE_TIMEOUT, check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"OCR took longer than {PAGE_TIMEOUT} s on one page") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"Tesseract failed: {message[-1] if message else 'no message'}")
    return parse_tsv(result.stdout.decode("utf-8", "replace"), languages)


def parse_tsv(tsv: str, languages: str = "eng") -> OcrPage:
    """Lines and paragraphs rebuilt from Tesseract's TSV, with the mean word confidence."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        word = (row.get("text") or "").strip()
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            confidence = -1.0
        if not word or confidence < 0:
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        lines.setdefault(key, []).append(word)
        confidences.append(confidence)
    out: list[str] = []
    previous: tuple[int, int] | None = None
    for (block, paragraph, _line), words in lines.items():
        if previous is not None and previous != (block, paragraph):
            out.append("")
        out.append(" ".join(words))
        previous = (block, paragraph)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrPage("\n".join(out), round(mean, 1), len(confidences), languages)
