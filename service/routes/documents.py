"""/v1/documents and /v1/collections/{name}/documents: batch upsert, list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, status

from index.models import DocumentInput, OffsetEncoding
from service.deps import StateDep
from service.guards import check_batch_limits, require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import (
    MAX_OFFSET,
    OFFSET_ENCODING_DESCRIPTION,
    Document,
    DocumentId,
    DocumentPage,
    DocumentSummary,
    OffsetEncodingIn,
    UpsertRequest,
    UpsertResponse,
    UpsertResult,
    next_offset,
)

router = PlacedRouter(prefix="/documents", tags=["documents"])


@router.post(
    "",
    operation_id="upsertDocuments",
    needs=Scope.WRITE,
    summary="Insert or replace documents",
    responses=errors(400, 401, 413, 415, 422, 429, 503, 507),
    dependencies=[Depends(require_json)],
)
async def upsert_documents(
    body: UpsertRequest, state: StateDep, collection: CollectionName
) -> UpsertResponse:
    """Insert or replace documents by id as one all-or-nothing batch.

    Each text is cleaned, chunked and embedded; a document whose cleaned text and title are
    unchanged is not re-embedded. If any document is rejected, nothing is written.
    """
    settings = state.settings
    check_batch_limits(
        [document.text for document in body.documents],
        settings.max_batch_documents,
        settings.max_document_chars,
    )
    inputs = [DocumentInput(**document.model_dump()) for document in body.documents]
    results = await state.run_write(
        state.engine.upsert, inputs, settings.max_document_chars, collection=collection
    )
    return UpsertResponse(
        results=[UpsertResult.model_validate(r, from_attributes=True) for r in results]
    )


@router.get(
    "",
    operation_id="listDocuments",
    needs=Scope.READ,
    summary="List documents",
    responses=errors(401, 422, 429, 503),
)
async def list_documents(
    state: StateDep,
    collection: CollectionName,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Documents to skip (at most 10^12).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Most documents returned.")] = 50,
    source: Annotated[str | None, Query(description="Only documents from this source.")] = None,
) -> DocumentPage:
    """List documents without their text, ordered by id, offset-paginated, optionally by
    source."""
    page = await state.run(
        state.engine.list_documents, offset, limit, source, collection=collection
    )
    return DocumentPage(
        items=[DocumentSummary.model_validate(i, from_attributes=True) for i in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        next_offset=next_offset(offset, len(page.items), page.total),
    )


@router.get(
    "/{document_id}",
    operation_id="getDocument",
    needs=Scope.READ,
    summary="Get a document",
    responses=errors(401, 404, 422, 429, 503),
)
async def get_document(
    document_id: Annotated[DocumentId, Path()],
    state: StateDep,
    collection: CollectionName,
    offset_encoding: Annotated[
        OffsetEncodingIn, Query(description=OFFSET_ENCODING_DESCRIPTION)
    ] = "utf-32",
) -> Document:
    """Get one document with its cleaned text, which citation offsets index into."""
    document = await state.run(
        state.engine.get, document_id, OffsetEncoding(offset_encoding), collection=collection
    )
    return Document.model_validate(document, from_attributes=True)


@router.delete(
    "/{document_id}",
    operation_id="deleteDocument",
    needs=Scope.WRITE,
    summary="Delete a document",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 404, 422, 429, 503, 507),
)
async def delete_document(
    document_id: Annotated[DocumentId, Path()], state: StateDep, collection: CollectionName
) -> None:
    """Delete a document and its chunks; it stops appearing in results at once."""
    await state.run_write(state.engine.delete, document_id, collection=collection)
