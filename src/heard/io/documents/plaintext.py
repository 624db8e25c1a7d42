"""Plain text out of bytes in any common encoding, and out of HTML markup."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from heard.io.documents.types import Unprocessable

__all__ = ["decode_text", "html_to_text"]


def decode_text(data: bytes) -> str:
    """Plain text in any common encoding: a BOM wins, then UTF-8, then a guess, then cp1252."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise Unprocessable("this looks like a binary file, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1 << 20]).best()
    if best is not None and best.encoding:
        return data.decode(best.encoding, "replace")
    return data.decode("cp1252", "replace")


class _HtmlText(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
             "article", "blockquote", "pre", "table", "ul", "ol", "hr", "header", "footer"}
    SKIP = {"script", "style", "head", "noscript", "template", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, str]:
    """(visible text with block elements on their own lines, title)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    return re.sub(r" *\n *", "\n", text), parser.title.strip()
