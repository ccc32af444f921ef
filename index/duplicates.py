"""Near-duplicate documents: syndicated copies of one story, one file uploaded twice.

A document's fingerprint is a MinHash (128 permutations) of its word 5-shingles, made from the
cleaned text, so a re-wrapped or re-spaced copy has the same shingles. Stores
index each fingerprint under 32 band keys (4 values each): two documents whose shingle
Jaccard similarity is 0.5 share a key with probability 0.87, at 0.6 with 0.99. A document
sharing a key is a candidate; it is a copy when the estimated Jaccard similarity of the two
reaches MIN_JACCARD and the shorter's shingles are at least MIN_CONTAINMENT inside the
longer's (a copy with a new header or a trimmed footer; not a quotation inside a longer
article). docs/search.md#duplicates has the measured precision and recall.

When a document is written, it becomes ``duplicate_of`` the original of the most similar
copy already stored (the original is a document that is no copy itself), or none. When an
original is deleted or its text changes, its copies are compared again, in id order: the first
that matches nothing left becomes the new original of the rest.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

PERMUTATIONS = 128
BANDS = 32
ROWS = PERMUTATIONS // BANDS
SHINGLE_WORDS = 5
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    """A document's MinHash signature and how many distinct shingles it was made from."""

    signature: np.ndarray  # PERMUTATIONS uint32 values
    shingles: int

    def to_bytes(self) -> bytes:
        """As stored: the shingle count, then the signature, as little-endian uint32."""
        values = np.concatenate([[self.shingles], self.signature]).astype("<u4")
        return values.tobytes()

    @classmethod
    def from_bytes(cls, stored: bytes) -> Fingerprint:
        values = np.frombuffer(stored, dtype="<u4")
        return cls(signature=values[1:].astype(np.uint32), shingles=int(values[0]))

    def band_keys(self) -> list[int]:
        """The BANDS keys a store indexes this fingerprint under (signed 64-bit)."""
        keys = []
        for band in range(BANDS):
            rows = self.signature[band * ROWS : (band + 1) * ROWS].astype("<u4").tobytes()
            digest = hashlib.blake2b(bytes([band]) + rows, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "little", signed=True))
        return keys


# MinHash as datasketch 1.6 computes it (its MinHash(num_perm=128, seed=1)), written out here:
# the library imports scipy when loaded, which the image leaves out (about 100 MB) for what is
# these few lines. A shingle's 32-bit hash (SHA-1's first four bytes) goes through PERMUTATIONS
# universal hash functions (a x + b) mod (2^61 - 1), kept to 32 bits; the signature holds each
# function's minimum over the shingles.
_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.RandomState(1)
    pairs = np.array(
        [
            (
                generator.randint(1, _MERSENNE_PRIME, dtype=np.uint64),
                generator.randint(0, _MERSENNE_PRIME, dtype=np.uint64),
            )
            for _ in range(PERMUTATIONS)
        ],
        dtype=np.uint64,
    ).T
    return pairs[0], pairs[1]


def _shingle_hash(shingle: str) -> int:
    value: int = struct.unpack("<I", hashlib.sha1(shingle.encode("utf-8")).digest()[:4])[0]
    return value


def fingerprint(text: str) -> Fingerprint:
    """The fingerprint of a cleaned document text."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        shingles = {" ".join(words)}
    else:
        shingles = {
            " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
        }
    a, b = _permutations()
    hashes = np.array([_shingle_hash(s) for s in shingles], dtype=np.uint64)[:, np.newaxis]
    with np.errstate(over="ignore"):  # the products wrap modulo 2^64, as datasketch's do
        permuted = (hashes * a + b) % _MERSENNE_PRIME & _MAX_HASH
    return Fingerprint(permuted.min(axis=0).astype(np.uint32), len(shingles))


def fingerprint_of(text: str, made: bytes | None) -> Fingerprint:
    """The fingerprint made while the document was prepared, or made now (a document prepared
    on a Ray node, or restored from a snapshot)."""
    return Fingerprint.from_bytes(made) if made is not None else fingerprint(text)


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, float]:
    """Estimated Jaccard similarity of two documents' shingles, and the share of the smaller
    set inside the larger (from the Jaccard estimate and the two sizes)."""
    jaccard = float(np.mean(a.signature == b.signature))
    common = jaccard * (a.shingles + b.shingles) / (1.0 + jaccard)
    return jaccard, min(common / max(min(a.shingles, b.shingles), 1), 1.0)


def is_copy(a: Fingerprint, b: Fingerprint) -> bool:
    jaccard, containment = similarity(a, b)
    return jaccard >= MIN_JACCARD and containment >= MIN_CONTAINMENT


@dataclass(frozen=True)
class Candidate:
    """A stored document that shares a band key with the one being compared."""

    id: str
    fingerprint: Fingerprint
    duplicate_of: str | None


class DuplicateIndex(Protocol):
    """What linking reads and writes, inside the write's own transaction."""

    def candidates(self, keys: Sequence[int], exclude: Sequence[str]) -> list[Candidate]:
        """Stored documents (not in ``exclude``) indexed under any of ``keys``."""

    def copies_of(self, document_ids: Sequence[str]) -> list[tuple[str, Fingerprint]]:
        """The documents whose ``duplicate_of`` is one of ``document_ids``, in id order."""

    def index(self, document_id: str, keys: Sequence[int]) -> None:
        """Index a document under its band keys."""

    def link(self, document_id: str, original: str | None) -> None:
        """Set a document's ``duplicate_of``."""


def original_of(
    fingerprint: Fingerprint, candidates: Iterable[Candidate], unsettled: set[str]
) -> str | None:
    """The original the document copies: that of its most similar copying candidate (the
    candidate itself when it is no copy), or None. Candidates in ``unsettled`` (being linked
    again themselves) are not compared."""
    best: tuple[float, str] | None = None
    for candidate in candidates:
        if candidate.id in unsettled or not is_copy(fingerprint, candidate.fingerprint):
            continue
        jaccard, _ = similarity(fingerprint, candidate.fingerprint)
        original = candidate.duplicate_of or candidate.id
        if original in unsettled:
            continue
        if best is None or (jaccard, original) > best:
            best = (jaccard, original)
    return best[1] if best else None


def link_written(
    index: DuplicateIndex,
    written: Sequence[tuple[str, Fingerprint]],
    gone: Sequence[str],
    known: Mapping[str, str | None] | None = None,
) -> None:
    """Link the documents just written (new text, in batch order) and re-link the copies of
    those ``gone`` (deleted, or whose text changed) or re-written. A document in ``known``
    (copied from another store) keeps the link it had there.

    Call after the written documents' rows exist and the gone ones' band keys were removed.
    """
    known = known or {}
    changed = [document_id for document_id, _ in written]
    orphans = [c for c in index.copies_of([*gone, *changed]) if c[0] not in set(changed)]
    unsettled = {document_id for document_id, _ in orphans}
    for document_id, fingerprint in written:
        keys = fingerprint.band_keys()
        if document_id in known:
            original = known[document_id]
        else:
            candidates = index.candidates(keys, [document_id])
            original = original_of(fingerprint, candidates, unsettled)
        index.link(document_id, original)
        index.index(document_id, keys)
    for document_id, fingerprint in orphans:
        unsettled.discard(document_id)
        candidates = index.candidates(fingerprint.band_keys(), [document_id])
        index.link(document_id, original_of(fingerprint, candidates, unsettled))
