"""Export the packaged all-MiniLM-L6-v2 to an int8 ONNX model: run once, in a child
process, by `index.onnx_encoder.ensure_int8_model`.

    python -m index.onnx_export SOURCE_DIR OUT_DIR RECIPE_JSON

It is a separate process so that torch and transformers, which only the export needs,
never enter the process that builds or queries the index (about 0.4 GB of RSS and
several seconds of imports), and so that a crash here is an exit status the parent can
turn into the fp32 fallback. Every step uses the ecosystem's own tools:

1. torch.onnx.export (TorchScript exporter, opset 17) of the transformer with eager
   attention: the SDPA path traces into a graph that onnxruntime's BERT optimizer
   cannot fuse. A wrapper takes the three inputs by keyword, because transformers 5's
   BertModel.forward has another positional order.
2. onnxruntime.transformers.optimizer (model_type "bert"): fuses embeddings + layer
   norm, attention and bias + GELU. On its own it is not faster on 2 cores, but the
   fused Attention node is what lets step 3 quantise attention too. Two settings come
   from the recipe:
   - GELU as its tanh approximation (FastGelu): about 3% faster, and the vectors'
     cosine to torch's is unchanged to the third decimal on 1,200 dev-set chunks;
   - no fused SkipLayerNormalization: onnxruntime's CPU kernel for it took 1.08 ms a
     call where LayerNormalization plus Add take 0.25 ms (a quarter of the model's
     time). The encoder also turns off onnxruntime's own load-time fusion of it.
3. onnxruntime.quantization.quantize_dynamic: int8 weights (per channel), activations
   quantised on the fly. Measured here on 600 news chunks (recipe version 1): 1.66x
   torch fp32 without step 2, 2.57x with it (same run, loaded machine); cosine to fp32
   min 0.982. Version 2's graph: 3.1-3.3x (README, "Indexing").
4. A check: the int8 model's sentence vectors against torch's on a few sentences.

Progress goes to stdout as lines "step N/4 NAME"; the last line is a JSON summary.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STEPS = ("export", "optimise", "quantise", "check")
CHECK_SENTENCES = (
    "Russia and NATO note their disagreements, without ruling out further talks.",
    "Heavy rain flooded the river valley on Monday, forcing thousands from their homes.",
    "A sixteen-year-old won the national chess championship after a five-hour final.",
)


def _step(n: int) -> None:
    print(f"step {n + 1}/{len(STEPS)} {STEPS[n]}", flush=True)


def export(source: Path, out: Path, recipe: dict) -> dict:
    import numpy as np
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    started = time.perf_counter()
    _step(0)
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class ByKeyword(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = torch.ones(2, 16, dtype=torch.long)
    fp32 = out / "fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            ByKeyword(model), (dummy, torch.ones_like(dummy), torch.zeros_like(dummy)), str(fp32),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]},
            opset_version=recipe["opset"], dynamo=False,
        )
    _step(1)
    fused = out / "fused.onnx"
    fusion = FusionOptions("bert")
    fusion.enable_gelu_approximation = recipe["gelu"] == "tanh"
    fusion.enable_skip_layer_norm = fusion.enable_bias_skip_layer_norm = recipe["skip_layer_norm"]
    optimised = optimize_model(str(fp32), model_type="bert", num_heads=model.config.num_attention_heads,
                               hidden_size=model.config.hidden_size, optimization_options=fusion)
    optimised.save_model_to_file(str(fused))
    fused_ops = {k: v for k, v in optimised.get_fused_operator_statistics().items() if v}
    _step(2)
    final = out / "model.onnx"
    quantize_dynamic(
        str(fused), str(final), weight_type=QuantType[recipe["weight_type"]],
        per_channel=recipe["per_channel"], reduce_range=recipe["reduce_range"],
        # The fused ops come from the com.microsoft domain, where ONNX shape inference
        # cannot tell the quantiser their output types: they are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    fp32.unlink()
    fused.unlink()
    _step(3)
    import onnxruntime as ort

    tok = AutoTokenizer.from_pretrained(str(source))
    enc = tok(list(CHECK_SENTENCES), padding=True, return_tensors="np")
    feed = {n: enc[n].astype(np.int64) for n in names}
    # The reference is a fresh copy as sentence-transformers loads it (default
    # attention): the traced eager copy gave other vectors for padded rows after export.
    reference = AutoModel.from_pretrained(str(source)).eval()
    with torch.no_grad():
        want = reference(**{n: torch.from_numpy(v) for n, v in feed.items()}).last_hidden_state.numpy()
    # Run as the encoder runs it (`onnx_encoder.open_session`): onnxruntime's load-time
    # fusions and session settings change the arithmetic too.
    opts = ort.SessionOptions()
    for key, value in recipe["runtime_config"].items():
        opts.add_session_config_entry(key, value)
    session = ort.InferenceSession(str(final), opts, providers=["CPUExecutionProvider"],
                                   disabled_optimizers=recipe["runtime_unfused"])
    got = session.run(None, feed)[0]
    mask = feed["attention_mask"][..., None].astype(np.float32)

    def pool(h):
        v = (h * mask).sum(1) / mask.sum(1)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    cosine = float((pool(want) * pool(got)).sum(1).min())
    if cosine < recipe["min_check_cosine"]:
        raise SystemExit(f"the int8 model's vectors differ from the original's (cosine {cosine:.3f})")
    return {"seconds": round(time.perf_counter() - started, 2), "check_cosine_min": round(cosine, 4),
            "fused_ops": fused_ops}


def main(argv: list[str]) -> int:
    source, out, recipe = Path(argv[0]), Path(argv[1]), json.loads(argv[2])
    summary = export(source, out, recipe)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
