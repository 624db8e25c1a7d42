"""Responses that arrive as documents: PDF, DOCX, ODT, TXT, HTML, EML, MSG and scans.

See ``docs/documents.md``. :func:`split_inputs` separates documents from spreadsheets among
the paths given to ``heard import``; :func:`document_responses` reads, cleans, links and
splits them into responses with their provenance.
"""

from heard.io.documents.collect import (
    DocResponse,
    DocumentOptions,
    DocumentReport,
    DocumentSet,
    Linker,
    document_responses,
    find_link_column,
    load_options,
    split_inputs,
)
from heard.io.documents.extract import extract
from heard.io.documents.types import Extracted, Page, Unprocessable

__all__ = [
    "DocResponse",
    "DocumentOptions",
    "DocumentReport",
    "DocumentSet",
    "Extracted",
    "Linker",
    "Page",
    "Unprocessable",
    "document_responses",
    "extract",
    "find_link_column",
    "load_options",
    "split_inputs",
]
