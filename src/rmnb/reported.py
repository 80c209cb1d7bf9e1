"""The paper's reported values (spec §8), each with its source label, to show next to the book's own.

"reported by the paper (summary)" marks values that secondary summaries attribute to the paper; they are shown
as the paper's but flagged, since the PDF's printed numbers were not available when the book was written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    value: str
    source: str


SUMMARY = "reported by the paper (summary)"

REPORTED: dict[str, Reported] = {
    "big2_3way_p": Reported("p < .001", SUMMARY),
    "big2_d": Reported("about 0.40 to 0.43 (medium)", SUMMARY),
    "topk_gemma": Reported("5 communion, 0 agency words in the top 10 (mean over Gemma RMs)", SUMMARY),
    "topk_llama": Reported("3.67 communion, 2.33 agency words in the top 10 (mean over Llama RMs)", SUMMARY),
    "fig2_instruct_F": Reported("F(1,208) = 58.3, p < .001", SUMMARY),
    "fig2_pretrained_F": Reported("F(1,208) = 43.2, p < .001", SUMMARY),
    "table1_best": Reported("Freedom", SUMMARY),
    "table1_worst": Reported("Love", SUMMARY),
    "fig3_pairs": Reported("Freedom > Love in 21/21 pairs; the gap grows with model size", SUMMARY),
    "train_plateau": Reported("the gap stabilises about one-third of the way through training", SUMMARY),
    "train_pairs_needed": Reported("about 100k+ preference pairs to remove the Gemma-Llama gap", SUMMARY),
    "grm_pairs": Reported("GRM models trained on > 630k pairs keep a gap", SUMMARY),
    "prompts": Reported("54 prompt variants (27 positive + 27 negative)", SUMMARY),
    "big2_n": Reported("263 Big Two nouns", SUMMARY),
    "rms": Reported("10 open-weight RMs from RewardBench, 4 Gemma-based and 6 Llama-based", "code"),
    "mfd2_terms_ranked": Reported("1,652 of 2,040 MFD2 terms (Sanctity-vice dropped by the figure code)", "code"),
}


def value(key: str) -> str:
    return REPORTED[key].value


def source(key: str) -> str:
    return REPORTED[key].source
