"""/v1/files and /v1/collections/{name}/files: one file uploaded (multipart/form-data) and
stored as a document. The upload is received here; reading it is the engine's (index/files),
in a bounded worker process."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Depends, File, Form, UploadFile, status
from pydantic import TypeAdapter, ValidationError

from index.errors import (
    FileTooLargeError,
    InputTooLargeError,
    InvalidInputError,
    UnreadableFileError,
)
from index.files import SUPPORTED, FileFields, file_document
from index.models import Metadata as MetadataValues
from service.deps import StateDep
from service.errors import InvalidRequestError
from service.guards import require_multipart
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import DocumentId, IsoDate, Metadata, StoredText, UploadedFile

UPLOAD_PATHS = re.compile(r"^/v1(/collections/[^/]+)?/files$")
_METADATA = TypeAdapter(Metadata)
_ERRORS = {
    400: "Malformed body: the multipart/form-data does not parse.",
    413: "Too large: the file is over SEMSEARCH_MAX_FILE_BYTES, its text over "
    "SEMSEARCH_MAX_DOCUMENT_CHARS, or a .docx unpacks past 256 MiB (a zip bomb).",
    415: f"A file type not read here, or bytes that are not the type its name says ({SUPPORTED} "
    "are read); or a body not sent as multipart/form-data.",
    422: "A field is invalid, or the file cannot be read: corrupt, truncated or encrypted, a "
    "PDF without a text layer, a page with no extractable text, or one over its time or memory "
    "bound. `errors` names the field (`file` for the file).",
}


def _metadata(raw: str | None) -> MetadataValues | None:
    """The metadata form field: a JSON object, checked as an upsert's metadata is."""
    if raw is None:
        return None
    try:
        return _METADATA.validate_python(json.loads(raw))
    except json.JSONDecodeError as error:
        raise InvalidRequestError("metadata", f"is not JSON: {error.msg}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f".{part}" for part in first["loc"] if part != "[key]")
        raise InvalidRequestError(f"metadata{where}", first["msg"]) from None
    except RecursionError:  # metadata is a flat object: nothing this deep is valid anyway
        raise InvalidRequestError("metadata", "is nested too deeply") from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise InvalidRequestError("metadata", f"is not JSON a server can read: {error}") from None


router = PlacedRouter(prefix="/files", tags=["files"])


@router.post(
    "",
    operation_id="uploadFile",
    needs=Scope.WRITE,
    summary="Upload a file as a document",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_multipart)],
    responses=errors(400, 401, 413, 415, 422, 429, 503, 507, descriptions=_ERRORS),
)
async def upload_file(
    file: Annotated[
        UploadFile,
        File(
            description=f"The file: {SUPPORTED}. Its type is read from its name (then its "
            "Content-Type) and checked against its bytes."
        ),
    ],
    state: StateDep,
    collection: CollectionName,
    id: Annotated[
        DocumentId | None,
        Form(description="Stable id; generated when omitted. Uploading an id replaces it."),
    ] = None,
    title: Annotated[
        StoredText | None,
        Form(max_length=1000, description="Overrides the title the file states."),
    ] = None,
    source: Annotated[
        StoredText | None, Form(max_length=1000, description="Publisher or origin.")
    ] = None,
    url: Annotated[
        StoredText | None,
        Form(max_length=4000, description="Overrides a page's canonical URL."),
    ] = None,
    published_at: Annotated[
        IsoDate | None, Form(description="Overrides the date the file states.")
    ] = None,
    metadata: Annotated[
        str | None,
        Form(
            description="A JSON object of metadata, as an upsert takes it; merged over "
            "what the file states (author)."
        ),
    ] = None,
) -> UploadedFile:
    """Read one file (HTML, PDF, Word, Markdown or text) into a document and store it.

    HTML keeps the page's main content with its title, date, author and canonical URL; PDF
    keeps its text page by page, and every citation of it carries `page` and `page_end`;
    Word keeps paragraphs, headings and table rows. Fields given here win over what the file
    states. Nothing is stored when the file is refused.
    """
    fields = FileFields(
        id=id,
        title=title,
        source=source,
        url=url,
        published_at=published_at,
        metadata=_metadata(metadata),
    )
    # Which collection, by name and creation time, before the file is read (404 first): a
    # file read while the collection is deleted and made again must not land in the new one.
    created_at = await state.run(state.engine.created_at, collection)
    data = await file.read()
    extracted = await state.read_file(data, file.filename, file.content_type)
    document = file_document(extracted, fields)
    try:
        [result] = await state.run_write(
            state.engine.upsert,
            [document],
            state.settings.max_document_chars,
            collection=collection,
            created_at=created_at,
        )
    except InvalidInputError as error:
        raise _as_upload_error(error, file.filename) from None
    stored = await state.run(state.engine.get, result.id, collection=collection)
    return UploadedFile.model_validate({**_summary(stored), "status": result.status.value})


def _as_upload_error(error: InvalidInputError, filename: str | None) -> InvalidInputError:
    """The engine names an upsert's fields (documents[0].text); an upload's are the form's,
    and the text is the file's."""
    field = error.field.removeprefix("documents[0].")
    if field != "text":
        return type(error)(field, error.message)
    name = repr(filename or "(unnamed)")
    if isinstance(error, InputTooLargeError):
        return FileTooLargeError(f"{name}: its text {error.message} (SEMSEARCH_MAX_DOCUMENT_CHARS)")
    return UnreadableFileError(f"{name}: its text {error.message}")


def _summary(document: object) -> dict[str, object]:
    fields = UploadedFile.model_fields.keys() - {"status"}
    return {name: getattr(document, name) for name in fields}
