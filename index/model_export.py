"""Export the packaged all-MiniLM-L6-v2 weights to ONNX once, for ONNX Runtime inference.

The export needs torch and transformers; the server does not, so it runs in a child process
(`python -m index.model_export SOURCE TARGET`) and the server never imports torch. The file
is cached under a key of the weights and the export code, written to a temporary name and
renamed, so concurrent first starts and a crash mid-export leave no broken model behind.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

# Bump when the exported graph changes (inputs, outputs, opset).
EXPORT_VERSION = "1"
_OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cached_model(model_dir: Path, cache_dir: Path) -> Path:
    """The ONNX model for ``model_dir``, exported into ``cache_dir`` on first use."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("config.json", "model.safetensors"):
        digest.update((model_dir / name).read_bytes())
    target = cache_dir / f"minilm-{digest.hexdigest()[:16]}.onnx"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "index.model_export", str(model_dir), str(target)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"exporting the model to ONNX failed:\n{done.stderr[-2000:]}")
    return target


def export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (token embeddings out; pooling is done by the caller)."""
    # Never reach a model hub: the weights are the packaged files.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            embeddings: torch.Tensor = self.model(
                **dict(zip(INPUTS, inputs, strict=True))
            ).last_hidden_state
            return embeddings

    example = torch.ones((2, 8), dtype=torch.int64)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_embeddings")}
    torch.onnx.export(
        TokenEmbeddings(),
        (example, example, torch.zeros_like(example)),
        str(temporary),
        input_names=list(INPUTS),
        output_names=["token_embeddings"],
        dynamic_axes=axes,
        opset_version=_OPSET,
        dynamo=False,
    )
    os.replace(temporary, target)


if __name__ == "__main__":
    export(Path(sys.argv[1]), Path(sys.argv[2]))
