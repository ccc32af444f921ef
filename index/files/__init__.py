"""Documents from files: HTML, PDF, Word (.docx), Markdown and plain text, read into text with
the metadata each format carries, page by page for PDF."""

from index.files.document import ExtractedFile
from index.files.formats import SUFFIXES, SUPPORTED, FileFormat
from index.files.reader import FileFields, FileReader, extract, file_document

__all__ = [
    "SUFFIXES",
    "SUPPORTED",
    "ExtractedFile",
    "FileFields",
    "FileFormat",
    "FileReader",
    "extract",
    "file_document",
]
