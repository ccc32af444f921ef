"""Domain errors of the engine. The HTTP layer maps each kind to a status code."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class DocumentNotFoundError(EngineError):
    """No document has the requested id."""

    def __init__(self, document_id: str) -> None:
        super().__init__(f"no document with id {document_id!r}")
        self.document_id = document_id


class CollectionNotFoundError(EngineError):
    """No collection has the requested name (or it was deleted while in use)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no collection named {name!r}")
        self.name = name


class CollectionExistsError(EngineError):
    """A collection of that name already exists."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a collection named {name!r} already exists")
        self.name = name


class CollectionLimitError(EngineError):
    """As many collections as allowed exist already: deleting one makes room for another."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the store holds its limit of {limit} collections (default included): delete one "
            "before creating another"
        )
        self.limit = limit


class CollectionProtectedError(EngineError):
    """The default collection cannot be deleted: the unscoped routes act on it."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the collection {name!r} cannot be deleted: it always exists (delete its documents)"
        )
        self.name = name


class InvalidInputError(EngineError):
    """A request value the engine cannot accept; ``field`` names it (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InputTooLargeError(InvalidInputError):
    """A value over a size limit once cleaned (Unicode normalisation can lengthen a text)."""


class StorageError(EngineError):
    """The store refused a write or a read; a write was rolled back and nothing changed."""


class StorageFullError(StorageError):
    """No space left on the data directory's device (or SQLite's size limit)."""


class StorageUnavailableError(StorageError):
    """The store cannot be used: a data directory read-only, without permission or failing
    I/O, or a database unreachable or too slow to answer."""


class WriteConflictError(StorageError):
    """Another writer changed a document between this write's read and its commit (only with a
    store several servers share); nothing was written, and the write may be retried."""


class ClusterUnavailableError(EngineError):
    """The Ray cluster embedding is sent to cannot be reached, lacks the ray extra, or failed
    mid-way; nothing of the batch in hand was written."""


class FileError(InvalidInputError):
    """A file that cannot be made a document (422). ``message`` says what is wrong with it,
    the file's name first once it is known ("'report.pdf' is encrypted: ...")."""

    def __init__(self, message: str) -> None:
        super().__init__("file", message)

    def __reduce__(self) -> tuple[type[FileError], tuple[str]]:
        return type(self), (self.message,)  # crosses from the parsing process intact

    def naming(self, filename: str) -> FileError:
        """The same error with the file's name in front of its message."""
        return type(self)(f"{filename!r} {self.message}")


class UnreadableFileError(FileError):
    """Corrupt, truncated, encrypted or empty of text, or too costly to parse (422)."""


class UnsupportedFileError(FileError):
    """A type we do not read, or bytes that are not the type declared (415)."""


class FileTooLargeError(FileError):
    """More bytes than SEMSEARCH_MAX_FILE_BYTES, or an archive that unpacks to too many (413)."""
