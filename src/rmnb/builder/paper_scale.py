"""Facts for the "Reproducing at paper scale" page (``book/paper-scale.md``): per chapter, the paper's models,
whether their licence is gated, and the GPU memory their weights need.

Memory is computed, not measured: the nominal parameter count of the model's name (``27B`` = 27 x 10^9) times
the bytes per parameter of the dtype the registry loads it in (bfloat16/float16: 2, float32: 4). It covers the
weights only (activations, the key/value cache and, for training, optimizer state come on top), and nominal
counts round down (e.g. Gemma 2 "2B" has somewhat more than 2 x 10^9 parameters). ``tests/test_paper_scale.py``
checks that the page's table is this module's output.
"""

from __future__ import annotations

import pandas as pd

from rmnb.analysis.base_logprobs import PAIR_PRESETS
from rmnb.analysis.implicit import PRESETS as IMPLICIT_PRESETS
from rmnb.models.registry import PAPER_LMS, PAPER_RMS, REGISTRY

BYTES_PER_PARAMETER = {"bfloat16": 2, "float16": 2, "float32": 4}
TRAINING_BASES = ("google/gemma-2-2b-it", "meta-llama/Llama-3.2-3B-Instruct")  # paper §4 (Qwen: appendix)


def chapter_models() -> dict[str, tuple[str, ...]]:
    """The paper's models each chapter needs at paper scale (registry ids, in a stable order)."""
    rms = tuple(spec.id for spec in PAPER_RMS)
    pairs = PAIR_PRESETS["paper"]
    implicit = IMPLICIT_PRESETS["paper"]
    fig3 = [m for pair in implicit["pairs"] for m in pair]
    ch04 = tuple(dict.fromkeys([implicit["a"], implicit["b"], *fig3, implicit["boost"]]))
    return {
        "00": rms,
        "01": rms,
        "02": rms,
        "03": (*pairs["instruct"], *pairs["pretrained"]),
        "04": tuple(sorted(ch04, key=_order)),
        "06": TRAINING_BASES,
        "07": (*rms, *pairs["instruct"]),
    }


def _order(model_id: str) -> int:
    ids = [s.id for s in (*PAPER_RMS, *PAPER_LMS)]
    return ids.index(model_id) if model_id in ids else len(ids)


def nominal_parameters(size: str) -> float:
    """``"27B"`` -> 27e9, ``"135M"`` -> 135e6."""
    scale = {"B": 1e9, "M": 1e6}[size[-1].upper()]
    return float(size[:-1]) * scale


def weights_gb(model_id: str) -> float:
    """GB (10^9 bytes) of a registered model's weights in its registry dtype: nominal parameters x bytes."""
    spec = REGISTRY[model_id]
    return nominal_parameters(spec.size) * BYTES_PER_PARAMETER[spec.dtype] / 1e9


def model_table() -> pd.DataFrame:
    """One row per paper model: ``model, label, family, size, dtype, gated, remote_code, weights_gb, chapters``."""
    chapters: dict[str, list[str]] = {}
    for chapter, models in chapter_models().items():
        for m in models:
            chapters.setdefault(m, []).append(chapter)
    rows = []
    for model_id in sorted(chapters, key=_order):
        spec = REGISTRY[model_id]
        rows.append(dict(model=model_id, label=spec.label, family=spec.family, size=spec.size, dtype=spec.dtype,
                         gated=spec.gated, remote_code=spec.trust_remote_code, weights_gb=weights_gb(model_id),
                         chapters=", ".join(chapters[model_id])))
    return pd.DataFrame(rows)


def markdown_rows() -> list[str]:
    """The page's model table, one Markdown row per model."""
    out = []
    for r in model_table().itertuples():
        label = r.label if r.label != r.model else ""
        out.append(f"| `{r.model}` | {label} | {r.family} | {r.size} | {r.dtype} | {'yes' if r.gated else 'no'} "
                   f"| {'yes' if r.remote_code else 'no'} | {r.weights_gb:g} | {r.chapters} |")
    return out
