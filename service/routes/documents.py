"""/v1/documents: batch upsert, list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from index.models import DocumentInput
from service.deps import StateDep
from service.schemas import (
    DocumentId,
    DocumentOut,
    DocumentPageOut,
    DocumentSummaryOut,
    Problem,
    UpsertRequest,
    UpsertResponse,
    UpsertResultOut,
)

router = APIRouter(prefix="/v1/documents", tags=["documents"])
_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "Malformed JSON"},
    422: {"model": Problem, "description": "Invalid field"},
}
_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": Problem, "description": "No such document"},
    422: {"model": Problem, "description": "Invalid field"},
}


@router.post("", operation_id="upsertDocuments", responses=_ERRORS)
async def upsert_documents(body: UpsertRequest, state: StateDep) -> UpsertResponse:
    """Insert or replace documents by id, all or nothing; unchanged text is not re-embedded."""
    inputs = [DocumentInput(**document.model_dump()) for document in body.documents]
    results = await state.run(state.engine.upsert, inputs)
    return UpsertResponse(
        results=[UpsertResultOut.model_validate(r, from_attributes=True) for r in results]
    )


@router.get("", operation_id="listDocuments", responses=_ERRORS)
async def list_documents(
    state: StateDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    source: Annotated[str | None, Query(description="Only documents from this source.")] = None,
) -> DocumentPageOut:
    """List documents (without text) ordered by id, offset-paginated, optionally by source."""
    page = await state.run(state.engine.list_documents, offset, limit, source)
    next_offset = offset + len(page.items) if offset + len(page.items) < page.total else None
    return DocumentPageOut(
        items=[DocumentSummaryOut.model_validate(i, from_attributes=True) for i in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        next_offset=next_offset,
    )


@router.get("/{document_id}", operation_id="getDocument", responses=_NOT_FOUND)
async def get_document(document_id: Annotated[DocumentId, Path()], state: StateDep) -> DocumentOut:
    """Get one document with its cleaned text, which citation offsets index into."""
    document = await state.run(state.engine.get, document_id)
    return DocumentOut.model_validate(document, from_attributes=True)


@router.delete(
    "/{document_id}",
    operation_id="deleteDocument",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_FOUND,
)
async def delete_document(document_id: Annotated[DocumentId, Path()], state: StateDep) -> None:
    """Delete a document and its chunks; it stops appearing in results at once."""
    await state.run(state.engine.delete, document_id)
