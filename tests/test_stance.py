"""index/stance.py: the committed stance model, offline, deterministic, as recorded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.models import Stance, Verdict
from index.stance import (
    MANIFEST,
    MODEL_DIRECTORY,
    STANCES,
    StanceModel,
    StanceModelError,
    claim_split,
    file_sha256,
    shared_stance_model,
)
from index.support import (
    CONTRADICTION_MARGIN,
    DEFAULT_MIN_CONTRADICTION,
    DEFAULT_MIN_SUPPORT,
    verdict,
)
from tests.conftest import ROOT

CLAIM = "The suicide bombing near the Islamabad district courts killed twelve people."
SENTENCES = [
    "A suicide bombing near the district courts in Islamabad killed 12 people and injured 36.",
    "China will continue its full cooperation with Pakistan, he said.",
    "Rescue boats reached the villages by evening.",
]


def _manifest() -> dict[str, object]:
    record: dict[str, object] = json.loads((MODEL_DIRECTORY / MANIFEST).read_text())
    return record


def test_the_committed_file_is_the_one_its_manifest_records() -> None:
    manifest = _manifest()
    path = MODEL_DIRECTORY / str(manifest["file"])
    assert file_sha256(path) == manifest["sha256"]
    assert path.stat().st_size < 40 * 1024 * 1024  # int8: tens of MB at most
    assert manifest["labels"] == [s.value for s in STANCES]


def test_the_verdict_defaults_are_the_thresholds_training_measured() -> None:
    fitted = _manifest()["verdict"]
    assert fitted == {
        "min_support": DEFAULT_MIN_SUPPORT,
        "min_contradiction": DEFAULT_MIN_CONTRADICTION,
        "contradiction_margin": CONTRADICTION_MARGIN,
    }


def test_a_tampered_or_missing_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "stance"
    shutil.copytree(MODEL_DIRECTORY, copy)
    model_file = copy / str(_manifest()["file"])
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(StanceModelError, match="make train-stance"):
        StanceModel(copy)
    model_file.unlink()
    with pytest.raises(StanceModelError, match="missing"):
        StanceModel(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(StanceModelError, match="manifest"):
        StanceModel(copy)


def test_probabilities_are_calibrated_distributions_and_deterministic() -> None:
    model = shared_stance_model()
    first = model.probabilities(CLAIM, SENTENCES)
    assert first.shape == (len(SENTENCES), len(STANCES))
    assert np.allclose(first.sum(axis=1), 1.0, atol=1e-5) and (first >= 0).all()
    assert np.array_equal(model.probabilities(CLAIM, SENTENCES), first)
    # A pair's stance does not depend on the other sentences scored with it (one pair per
    # model call: int8 quantizes activations per call).
    for row, sentence in enumerate(SENTENCES):
        assert np.array_equal(model.probabilities(CLAIM, [sentence])[0], first[row])
    assert np.array_equal(model.probabilities(CLAIM, SENTENCES[::-1]), first[::-1])
    # The temperature scales the logits: the stance is their argmax either way.
    logits = model.logits(CLAIM, SENTENCES)
    assert (logits.argmax(axis=1) == first.argmax(axis=1)).all()


def test_a_fresh_process_loads_and_scores_without_any_network() -> None:
    """Every connection attempt fails in the child: the model and tokenizer are local files."""
    script = f"""
import socket
def refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
import sys
from index.stance import StanceModel
p = StanceModel().probabilities({CLAIM!r}, [{SENTENCES[0]!r}])
assert "torch" not in sys.modules and "transformers" not in sys.modules
print(p.tolist())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    in_process = shared_stance_model().probabilities(CLAIM, [SENTENCES[0]])
    assert np.allclose(json.loads(done.stdout), in_process, atol=1e-6)


@pytest.mark.parametrize(
    ("support", "contradiction", "expected"),
    [
        (0.9, 0.1, Verdict.SUPPORTED),
        (0.2, 0.9, Verdict.CONTRADICTED),
        (0.95, 0.9, Verdict.SUPPORTED),  # contradiction must also beat support
        (0.1, 0.1, Verdict.INSUFFICIENT_EVIDENCE),
        (0.4, 0.45, Verdict.SUPPORTED),  # contradiction below its threshold
        (0.56, 0.58, Verdict.SUPPORTED),  # a sufficient support is not outvoted by a hair
        (0.35, 0.9, Verdict.CONTRADICTED),  # ... but is by a clear contradiction
        (0.2, 0.45, Verdict.INSUFFICIENT_EVIDENCE),
    ],
)
def test_the_verdict_rule(support: float, contradiction: float, expected: Verdict) -> None:
    called = verdict(support, contradiction, min_support=0.3, min_contradiction=0.5, margin=0.1)
    assert called is expected


def test_sibling_claims_land_on_the_same_side_of_the_split() -> None:
    """Claims citing the same abstracts (a claim and its negation) are split together."""
    assert claim_split(["13734012", "2613775"]) == claim_split(["2613775", "13734012"])
    parts = {claim_split([str(n)]) for n in range(200)}
    assert parts == {"train", "calibration", "held_out"}


def test_the_nli_split_keeps_anli_and_the_reported_files_out_of_training() -> None:
    """ANLI's licence allows evaluation only; what is reported was neither trained nor
    calibrated on."""
    from scripts.stance_data import NLI_CALIBRATION, NLI_REPORT, NLI_TRAIN

    assert not any("anli" in name for name in NLI_TRAIN + NLI_CALIBRATION)
    assert not set(NLI_REPORT) & set(NLI_TRAIN + NLI_CALIBRATION)
    assert not set(NLI_TRAIN) & set(NLI_CALIBRATION)
    assert "No ANLI" in str(_manifest()["data"])


def test_a_breaking_nli_category_is_capped_but_keeps_its_entailments() -> None:
    import random

    from scripts.stance_data import BREAKING_PER_CATEGORY, _cap_contradictions
    from scripts.stance_pairs import Pair

    pairs = [Pair("c", f"s{i}", Stance.CONTRADICTS, "breaking_nli:colors") for i in range(400)]
    pairs += [Pair("c", "e", Stance.SUPPORTS, "breaking_nli:colors")]
    kept = _cap_contradictions(pairs, random.Random(0))
    assert sum(p.stance is Stance.CONTRADICTS for p in kept) == BREAKING_PER_CATEGORY
    assert sum(p.stance is Stance.SUPPORTS for p in kept) == 1


def test_threshold_fitting_keeps_true_claims_called_contradicted_within_its_limit() -> None:
    from index.evaluation import true_called_contradicted
    from scripts.train_stance import fit_thresholds, verdicts_at

    # Noisy readings: supported claims lean to support, contradicted ones to contradiction,
    # and some true claims read as contradicted, so the freest fit calls a few of them false.
    rng = np.random.default_rng(0)
    lean = {"SUPPORT": (0.7, 0.3), "CONTRADICT": (0.4, 0.7), "NOT_ENOUGH_INFO": (0.2, 0.2)}
    rows = [
        (
            label,
            float(np.clip(s + rng.normal(0, 0.25), 0, 1)),
            float(np.clip(c + rng.normal(0, 0.25), 0, 1)),
        )
        for label, (s, c) in lean.items()
        for _ in range(60)
    ]
    free_f1, free = fit_thresholds(rows, limit=1.0)
    bounded_f1, bounded = fit_thresholds(rows, limit=0.05)
    assert true_called_contradicted(verdicts_at(rows, free)) > 0.05
    assert true_called_contradicted(verdicts_at(rows, bounded)) <= 0.05
    assert bounded_f1 < free_f1
