"""Set-up step: the embedder as int8 ONNX, made from the fetched sentence-transformers model.

Run by ``make models`` (``desktop/fetch_models.py``), never at run time, never downloaded: torch
exports the transformer to ONNX, then ONNX Runtime quantises its weights to int8 (dynamic
quantisation). Pooling and normalisation stay out of the graph; the app does them as the model's
configuration says (``desktop/store/onnx_embedder.py``). Both steps are deterministic: the same
source and library versions give the same bytes, which the record beside the file keeps.
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

from desktop.core.errors import ModelError
from desktop.core.offline import enforce_offline

# The model's modules must be exactly these for the ONNX graph plus mean pooling to be the same model.
SUPPORTED_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT = "last_hidden_state"
OPSET = 17


def make_onnx_int8(source_folder: Path, target: Path) -> None:
    """Write the int8 model to ``target`` (through a partial file, so a crash leaves none)."""
    enforce_offline()
    _check_modules(source_folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "model-fp32.onnx"
        _export(source_folder, full)
        partial = target.with_name(target.name + ".part")
        # Its advice to pre-process the graph goes to the root logger, into `make run`: the tests check the result.
        logging.disable(logging.WARNING)
        try:
            _quantize(full, partial)
        finally:
            logging.disable(logging.NOTSET)
    partial.replace(target)


def _quantize(full: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: per-tensor ones gave a mean cosine of 0.95 to the torch vectors, these 0.993.
    # reduce_range: 7-bit weights, so processors without VNNI (AVX2 only) cannot saturate.
    quantize_dynamic(full, target, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)


def _check_modules(source_folder: Path) -> None:
    modules = json.loads((source_folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [module["type"] for module in modules]
    pooling = json.loads((source_folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    means_only = pooling.get("pooling_mode_mean_tokens") and not any(
        value for key, value in pooling.items() if key.startswith("pooling_mode_") and key != "pooling_mode_mean_tokens"
    )
    if kinds not in (SUPPORTED_MODULES, SUPPORTED_MODULES[:2]) or not means_only:
        raise ModelError(f"{source_folder.name} is not a transformer with mean pooling; it cannot run as ONNX.")


def _export(source_folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    # Eager attention: plain MatMul and Softmax nodes, which quantise and fuse well in ONNX Runtime.
    model = AutoModel.from_pretrained(str(source_folder), local_files_only=True, attn_implementation="eager")
    sample = torch.ones((2, 16), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*INPUTS, OUTPUT]}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated (the new one needs onnxscript), and tracing notes a mask
        # branch that is constant without a cache: the tests compare the result with sentence-transformers.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _hidden_states(model.eval()), (sample, sample, torch.zeros_like(sample)), str(target), dynamo=False,
            input_names=INPUTS, output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET,
        )


def _hidden_states(model: Any) -> Any:
    """The transformer with positional inputs and one output, as the ONNX graph takes and gives them."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return HiddenStates()
