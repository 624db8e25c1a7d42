"""OCR benchmark: character accuracy (1 − CER) and time per page on generated scans.

Typed letters are drawn with DejaVu Sans, rotated 1–3° and (for the noisy set) sprinkled
with 1% salt-and-pepper noise, then read through the same path as `heard import`
(:func:`heard.io.documents.extract`). Accuracy compares the OCR text with the letter's
text after folding whitespace. Welsh letters are read with language detection choosing
``cym+eng``.

    .venv/bin/python benchmarks/bench_ocr.py --letters 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from heard.io.documents import extract, samples  # noqa: E402
from heard.io.documents.ocr import available_languages  # noqa: E402


def run(letters: int, seed: int) -> list[dict]:
    rows = []
    cases = [
        ("clean scan, English", False, 0.0, "png"),
        ("noisy scan (1% speckle), English", False, 0.01, "png"),
        ("noisy scan in an image-only PDF, English", False, 0.01, "pdf"),
        ("clean scan, Welsh", True, 0.0, "png"),
    ]
    for label, welsh, noise, kind in cases:
        accuracies, seconds, confidences = [], [], []
        for number in range(letters):
            text = samples.letter_text(seed + number, welsh=welsh)
            image = samples.render_letter(text, seed=seed + number, noise=noise)
            data = samples.image_pdf([image]) if kind == "pdf" else samples.image_bytes(image)
            start = time.perf_counter()
            extracted = extract(f"scan.{kind}", data)
            seconds.append(time.perf_counter() - start)
            page_text = " ".join(p.text for p in extracted.pages)
            accuracies.append(samples.character_accuracy(text, page_text))
            confidences.append(extracted.pages[0].confidence or 0.0)
        rows.append({
            "case": label, "pages": letters,
            "accuracy_mean": statistics.mean(accuracies), "accuracy_min": min(accuracies),
            "confidence_mean": statistics.mean(confidences),
            "seconds_per_page": statistics.mean(seconds),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=6, help="letters per case")
    parser.add_argument("--seed", type=int, default=500)
    args = parser.parse_args()
    if not {"eng", "cym"} <= available_languages():
        sys.exit("Tesseract with eng and cym data is needed: apt-get install tesseract-ocr "
                 "tesseract-ocr-eng tesseract-ocr-cym")
    print("| case | pages | character accuracy (mean) | (min) | mean word confidence | "
          "s/page |")
    print("|---|---|---|---|---|---|")
    for row in run(args.letters, args.seed):
        print(f"| {row['case']} | {row['pages']} | {row['accuracy_mean']:.4f} | "
              f"{row['accuracy_min']:.4f} | {row['confidence_mean']:.1f} | "
              f"{row['seconds_per_page']:.1f} |")


if __name__ == "__main__":
    main()
