"""The paper's reported values, each with its source label, to show next to the book's own.

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
    "big2_direction": Reported("under positive prompts Llama RMs rank agency higher and Gemma RMs communion; the "
                               "pattern reverses under negative prompts", SUMMARY),
    "mfd2_differ": Reported("RMs differ significantly by base model along the MFD2 foundations too",
                            "reported by the paper"),
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
    # §4 controlled RM training (chapters 05 and 06)
    "same_data": Reported("the effect holds even when the preference data and finetuning process are identical",
                          "reported by the paper"),
    "traced_to_base": Reported("the split is already present in the base LLMs' next-token log-probabilities, "
                               "instruction-tuned and pretrained", "reported by the paper"),
    "train_durable": Reported("the effect is repeatable and surprisingly durable", "reported by the paper"),
    "train_recipe": Reported("2 epochs, LoRA rank 32 / alpha 64, AdamW lr 1e-5, effective batch 16, Bradley-Terry "
                             "loss, fixed random seed, checkpoint every 1,000 steps", SUMMARY),
    "train_direction": Reported("Llama RMs keep agency ranked higher, Gemma RMs communion", SUMMARY),
    "train_gap_early": Reported("the Gemma-Llama gap is largest at the start of training, then narrows", SUMMARY),
    "train_not_close": Reported("the gap narrows but does not close (about 77k Skywork pairs)", SUMMARY),
    "train_source": Reported("the data source matters little", SUMMARY),
    "train_qwen": Reported("the appendix Qwen model does not close its gap even with 100k pairs", SUMMARY),
    # §3 implicit reward (chapter 04)
    "table1_pair": Reported("A = Gemma 2 2B IT, B = Llama 3.2 3B Instruct", "code"),
    "figA3_mwlr_best": Reported("MWLR's sensitivity beats all comparison metrics", SUMMARY),
    "figA3_recipe": Reported("36 positive questions x 10 authority words = 360 examples; LoRA r = 8; 50 steps of "
                             "batch 1 x 4 accumulation; lr 2e-4; Gemma 2 2B", "code"),
}


def value(key: str) -> str:
    return REPORTED[key].value


def source(key: str) -> str:
    return REPORTED[key].source
