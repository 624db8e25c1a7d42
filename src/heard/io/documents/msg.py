"""Outlook .msg files: body, subject and attachments, read with ``olefile``.

An .msg file is an OLE compound file. Properties live in streams named
``__substg1.0_<property id><type>``: ``1000`` the plain body, ``1013`` the HTML body,
``0037`` the subject; each attachment is a storage ``__attach_version1.0_#NNNNNNNN``
holding its bytes (``3701``) and its file name (``3707`` long, ``3704`` short).
Type ``001F`` is UTF-16LE text, ``001E`` 8-bit text, ``0102`` binary.
"""

from __future__ import annotations

import io

from heard.io.documents.plaintext import decode_text, html_to_text
from heard.io.documents.types import Unprocessable

INSTALL_HINT = "reading .msg e-mails needs olefile: pip install 'heard[documents]'"


def _stream(ole, prefix: str, prop: str) -> bytes | str | None:
    for kind in ("001F", "001E", "0102"):
        name = f"{prefix}__substg1.0_{prop}{kind}"
        if ole.exists(name):
            raw = ole.openstream(name).read()
            if kind == "001F":
                return raw.decode("utf-16-le", "replace").rstrip("\x00")
            if kind == "001E":
                return raw.decode("cp1252", "replace").rstrip("\x00")
            return raw
    return None


def read_msg_file(data: bytes) -> tuple[str, str, list[tuple[str, bytes | Unprocessable]]]:
    """(body text, subject, [(attachment name, bytes, or why it cannot be read)])."""
    try:
        import olefile
    except ImportError:
        raise Unprocessable(INSTALL_HINT) from None
    if not olefile.isOleFile(io.BytesIO(data)):
        raise Unprocessable("not an Outlook .msg file (not an OLE compound file)")
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        entries = ole.listdir(streams=True, storages=True)
        if not any(entry[0].startswith(("__substg1.0_", "__properties_version1.0"))
                   for entry in entries if entry):
            # olefile only logs a damaged directory; a message always has property streams
            raise Unprocessable("damaged .msg file, or not an Outlook message: the compound "
                                "file holds no message properties")
        body = _stream(ole, "", "1000")
        if not isinstance(body, str) or not body.strip():
            html = _stream(ole, "", "1013")
            if isinstance(html, bytes | str):
                markup = html if isinstance(html, str) else decode_text(html)
                body = html_to_text(markup)[0]
        subject = _stream(ole, "", "0037")
        attachments: list[tuple[str, bytes | Unprocessable]] = []
        storages = sorted({
            entry[0] for entry in entries if entry and entry[0].startswith("__attach_version1.0_#")
        })
        for number, storage in enumerate(storages, start=1):
            prefix = f"{storage}/"
            payload = _stream(ole, prefix, "3701")
            name = _stream(ole, prefix, "3707") or _stream(ole, prefix, "3704")
            label = name if isinstance(name, str) and name.strip() else f"attachment-{number}"
            label = label.strip().replace("/", "_")
            if isinstance(payload, bytes):
                attachments.append((label, payload))
            elif any(e[:2] == [storage, "__substg1.0_3701000D"] for e in entries if e):
                # an attached Outlook message: kept as an unreadable part, never dropped
                attachments.append((label, Unprocessable(
                    "attached Outlook message: open it and save it as its own .msg file")))
    finally:
        ole.close()
    return (body if isinstance(body, str) else "", subject if isinstance(subject, str) else "",
            attachments)
