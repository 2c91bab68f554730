"""Reading the text of a PDF the application produced (pure Python: pypdf)."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """All the text of the PDF's pages, with runs of whitespace collapsed."""
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
