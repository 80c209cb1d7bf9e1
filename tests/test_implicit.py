"""The implicit reward (paper §3b): MWLR and its KL identity, Table 1 helpers, variant averaging, the metric
recovery score, and the authority-boost data set. No models are loaded here."""

import numpy as np
import pandas as pd
import pytest

from rmnb.analysis import implicit
from rmnb.base.errors import RmnbError
from rmnb.training import sft


def _log_dirichlet(rng, n, alpha=0.1):
    p = rng.dirichlet(np.full(n, alpha))
    p = np.maximum(p, 1e-300)
    return np.log(p / p.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mwlr_sums_to_half_kl_difference(seed):
    rng = np.random.default_rng(seed)
    lp_a, lp_b = _log_dirichlet(rng, 5000), _log_dirichlet(rng, 5000, 0.5)
    half_diff = 0.5 * (implicit.kl(lp_b, lp_a) - implicit.kl(lp_a, lp_b))
    assert implicit.mwlr(lp_a, lp_b).sum() == pytest.approx(half_diff, abs=1e-9)
    assert abs(implicit.mwlr_identity_gap(lp_a, lp_b)) < 1e-9
    assert implicit.kl(lp_a, lp_a) == pytest.approx(0.0, abs=1e-12)


def test_mwlr_on_a_hand_worked_distribution():
    p, q = np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.25, 0.5])
    got = implicit.mwlr(np.log(p), np.log(q))
    expected = 0.5 * (p + q) * (np.log(q) - np.log(p))
    np.testing.assert_allclose(got, expected)
    assert got[0] < 0 < got[2] and got[1] == 0  # positive = preferred by B (q), negative = preferred by A (p)
    # here the two KLs are equal, so MWLR sums to zero
    assert got.sum() == pytest.approx(0.0, abs=1e-15)


def test_raw_and_floored_log_ratios():
    a, b = np.array([-1.0, -30.0, -12.0]), np.array([-2.0, -25.0, -11.0])
    np.testing.assert_allclose(implicit.log_ratio(a, b), [-1.0, 5.0, 1.0])
    np.testing.assert_allclose(implicit.floored_log_ratio(a, b, -10.0), [-1.0, 0.0, 0.0])
    np.testing.assert_allclose(implicit.floored_log_ratio(a, b, -20.0), [-1.0, 0.0, 1.0])
    assert list(implicit.candidate_metrics()) == ["raw log-ratio", "log-ratio floored at -10",
                                                   "log-ratio floored at -15", "log-ratio floored at -20", "MWLR"]


def test_dedupe_keeps_highest_and_drops_missing():
    s = implicit.dedupe(["a", "b", "a", "", None, "c"], [-3.0, -1.0, -2.0, -0.5, -0.1, -4.0])
    assert s.to_dict() == {"b": -1.0, "a": -2.0, "c": -4.0}


def _toy_shared():
    tokens = ["Freedom", " freedom", "Love", " love", "**", "\n", "<eos>", "the", "zzz"]
    lp_a = np.log(np.array([0.01, 0.01, 0.30, 0.10, 0.20, 0.05, 0.001, 0.30, 1e-9]))
    lp_b = np.log(np.array([0.20, 0.05, 0.05, 0.02, 0.01, 0.05, 0.002, 0.30, 1e-6]))
    return implicit.shared_table(pd.Series(lp_a, index=tokens), pd.Series(lp_b, index=tokens))


def test_shared_table_extremes_and_formatting_flags():
    shared = _toy_shared()
    assert shared.mwlr.is_monotonic_decreasing
    kinds = dict(zip(shared.token, shared.kind))
    assert kinds["**"] == "formatting" and kinds["\n"] == "formatting" and kinds["<eos>"] == "special"
    assert kinds["Love"] == "word"
    top, bottom = implicit.extremes(shared, n=2)
    assert list(top["rank"]) == [1, 2] and list(bottom["rank"]) == [len(shared) - 1, len(shared)]
    assert top.token[0] == "Freedom"
    assert "␣freedom" in set(implicit.extremes(shared, n=3)[0].shown)  # leading spaces made visible
    # the most A-preferred string is Love; with "**" boosted for A it would be a formatting token, skipped here
    assert implicit.best_word(shared, "bottom").token == "Love"
    assert implicit.best_word(shared, "top").token == "Freedom"


def test_best_word_skips_formatting_tokens():
    tokens = ["**", "Love", "Freedom"]
    lp_a, lp_b = np.log([0.6, 0.3, 0.1]), np.log([0.1, 0.2, 0.7])
    shared = implicit.shared_table(pd.Series(lp_a, index=tokens), pd.Series(lp_b, index=tokens))
    _, bottom = implicit.extremes(shared, n=1)
    assert bottom.token[0] == "**" and bool(bottom.formatting[0])
    assert implicit.best_word(shared, "bottom").token == "Love"


def test_variant_averaging_and_pair_direction():
    shared = _toy_shared()
    ws = implicit.word_scores(shared, ["Freedom", "Love", "absent"]).set_index("word")
    freedom = shared[shared.token.str.strip().str.lower() == "freedom"].mwlr.mean()
    assert ws.loc["Freedom", "score"] == pytest.approx(freedom)
    assert ws.loc["Freedom", "n_variants"] == 2 and ws.loc["absent", "n_variants"] == 0
    assert np.isnan(ws.loc["absent", "score"])
    tokens = list(shared.token)
    tables = {"A": pd.Series(shared.logprob_a.to_numpy(), index=tokens),
              "B": pd.Series(shared.logprob_b.to_numpy(), index=tokens),
              "C": pd.Series(shared.logprob_b.to_numpy()[:-1], index=tokens[:-1])}  # C lacks "zzz"
    out = implicit.pair_word_mwlr(tables, [("A", "B"), ("B", "A")])
    assert out.Freedom[0] == pytest.approx(-out.Freedom[1]) and out.Love[0] == pytest.approx(-out.Love[1])
    assert out.gap[0] > 0 and (out.n_common == len(tokens) - 1).all()  # common to all listed models


def test_recovery_mwlr_beats_raw_ratio_on_a_junk_tail():
    rng = np.random.default_rng(0)
    n = 2000
    base = rng.dirichlet(np.full(n, 0.5))
    base[1500:] = 1e-12  # a junk tail both models essentially never produce
    boost = base.copy()
    targets = np.arange(10)
    boost[targets] *= 20  # planted preferences: large, probable gains
    boost[1500:1600] *= 1e6  # junk: enormous ratios on negligible mass
    base, boost = base / base.sum(), boost / boost.sum()
    per = implicit.recovery_scores(np.log(base), np.log(boost), targets)
    summary = implicit.summarise_recovery(per).set_index("metric")
    assert summary.loc["MWLR", "recall_at_k"] == 1.0
    assert summary.loc["raw log-ratio", "recall_at_k"] == 0.0
    assert summary.index[0] in ("MWLR", "log-ratio floored at -10", "log-ratio floored at -15",
                                "log-ratio floored at -20")
    # ties at a floor count as the worst shared rank, never as a win
    flat = implicit.recovery_scores(np.zeros((1, 50)), np.zeros((1, 50)), [0, 1], k=2)
    assert (flat.recall_at_k == 0).all() and (flat.median_rank == 50).all()


def test_mass_summary_and_its_verdict():
    shared = _toy_shared()
    got = implicit.mass_summary(shared, n=2)
    raw_top = shared.nlargest(2, "log_ratio")
    assert set(raw_top.token) == {"zzz", "Freedom"}  # the junk string has the largest raw ratio
    assert got["raw_top_mass"] == pytest.approx(raw_top.mass.sum())
    assert got["mwlr_top_mass"] == pytest.approx(shared.nlargest(2, "mwlr").mass.sum())
    assert got["shared_median_mass"] == pytest.approx(shared.mass.median())
    assert got["mass_ratio"] == pytest.approx(got["mwlr_top_mass"] / got["raw_top_mass"]) and got["mass_ratio"] > 1
    assert got["mass_verdict"] == "MWLR ranks answers the models might actually give"
    same = implicit.mass_summary(shared[shared.token != "zzz"], n=1)  # both metrics pick the same string
    assert same["mass_ratio"] == pytest.approx(1.0)
    assert same["mass_verdict"] == "here the raw log-ratio's favourites are not rarer than MWLR's"


def test_matches_word_and_metric_key():
    assert implicit.matches_word(" freedom ", "Freedom") == "matches"
    assert implicit.matches_word("Love", "Freedom") == "differs from"
    assert implicit.same_word(" freedom", "Freedom") and not implicit.same_word("Freedoms", "Freedom")
    assert implicit.metric_key("MWLR") == "mwlr"
    assert implicit.metric_key("raw log-ratio") == "raw_log_ratio"
    assert implicit.metric_key("log-ratio floored at -10") == "log_ratio_floored_at__10"
    assert implicit.metric_key("log-ratio floored at -2.5") == "log_ratio_floored_at__25"


def _summary(recalls):
    per = pd.DataFrame([dict(metric=m, prompt_id=0, recall_at_k=r, median_rank=10 * (i + 1), mean_log10_rank=i)
                        for i, (m, r) in enumerate(recalls.items())])
    return implicit.summarise_recovery(per)


def test_recovery_verdict():
    got = implicit.recovery_verdict(_summary({"raw log-ratio": 0.1, "floored": 0.5, "MWLR": 0.9}))
    assert got["best_metric"] == "MWLR" and got["best_recall"] == 0.9 and got["recall"] == 0.9
    assert got["median_rank"] == 30 and got["baseline_recall"] == 0.1 and got["baseline_median_rank"] == 10
    assert got["position"] == "1 of 3" and got["beats_all"] == "beats every other candidate" and got["best"] is True
    second = implicit.recovery_verdict(_summary({"raw log-ratio": 0.1, "floored": 0.95, "MWLR": 0.9}))
    assert second["best_metric"] == "floored" and second["position"] == "2 of 3"
    assert second["beats_all"] == "does not beat every other candidate" and second["best"] is False
    # first only by the tie-break on ranks: not strictly ahead
    tied = implicit.recovery_verdict(_summary({"MWLR": 0.9, "raw log-ratio": 0.9}))
    assert tied["position"] == "1 of 2" and tied["beats_all"] == "does not beat every other candidate"
    assert tied["best"] is False


def test_presets_and_pair_parsing():
    emb = implicit.resolve_models("embedded")
    assert emb["a"] == "gemma3-270m" and emb["b"] == "smollm2-135m-instruct"
    assert emb["pairs"] == ((emb["a"], emb["b"]), (emb["b"], emb["a"]))
    paper = implicit.resolve_models("paper")
    assert len(paper["pairs"]) == 21 and all(a.startswith("google/") for a, _ in paper["pairs"])
    assert implicit.parse_pairs("x>y, u>v") == (("x", "y"), ("u", "v"))
    with pytest.raises(RmnbError, match="A>B"):
        implicit.parse_pairs("x,y")
    with pytest.raises(RmnbError, match="models must be one of"):
        implicit.resolve_models("huge")


def test_authority_question_set_and_settings_key():
    questions, answers = sft.question_set()
    assert len(questions) == 36 and len(set(questions)) == 36
    assert answers == ("respect", "authority", "tradition", "honor", "obedience", "permission", "hierarchy",
                       "leadership", "duty", "compliance")
    from rmnb.data.prompts import paper_prompts

    assert not set(questions) & set(paper_prompts().text)  # the evaluation prompts stay unseen
    settings = sft.BoostSettings(questions=questions, answers=answers)
    examples = settings.examples()
    assert len(examples) == 360 and examples[0] == f"Instruction:\n{questions[0]}\n\nResponse:\nrespect"
    assert settings.key() != sft.BoostSettings(questions=questions, answers=answers, max_steps=10).key()
    assert settings.key() == sft.BoostSettings(questions=questions, answers=answers).key()
    with pytest.raises(RmnbError, match="at least one question"):
        sft.BoostSettings().examples()


def test_ends_comparison_puts_the_value_words_on_the_scale_of_the_tables_ends():
    # A (a base model) opens with "What", B (an instruct model) with "That"; the value words are rare in both
    tokens = ["That", "What", "Freedom", " freedom", "Love", "the"]
    p_a = np.array([0.05, 0.80, 1e-5, 1e-5, 2e-5, 0.14997])
    p_b = np.array([0.85, 0.05, 2e-5, 1e-5, 1e-5, 0.09996])
    shared = implicit.shared_table(pd.Series(np.log(p_a), index=tokens), pd.Series(np.log(p_b), index=tokens))
    ends = implicit.ends_comparison(shared)
    assert (ends["top"], ends["bottom"]) == ("That", "What")
    assert ends["top_rank_in_b"] == 1 and ends["bottom_rank_in_a"] == 1  # each end is its model's first choice
    scale = max(abs(ends["top_mwlr"]), abs(ends["bottom_mwlr"]))
    assert ends["freedom_ratio"] == pytest.approx(abs(ends["freedom_mwlr"]) / scale)
    assert ends["freedom_mwlr"] > 0 > ends["love_mwlr"]
    assert ends["love_ratio"] < implicit.ENDS_NEGLIGIBLE and ends["verdict"].startswith("both words score under")
    # a value word at an end is not negligible
    loud = implicit.shared_table(pd.Series(np.log([0.5, 0.5]), index=["Freedom", "Love"]),
                                 pd.Series(np.log([0.9, 0.1]), index=["Freedom", "Love"]))
    assert implicit.ends_comparison(loud)["verdict"].startswith("a word reaches 100% of it")
    missing = implicit.shared_table(pd.Series(np.log([0.5, 0.5]), index=["Freedom", "x"]),
                                    pd.Series(np.log([0.9, 0.1]), index=["Freedom", "x"]))
    assert "undefined" in implicit.ends_comparison(missing)["verdict"]


def test_fig3_direction_reads_only_pairs_in_the_papers_orientation():
    fig3 = pd.DataFrame({"a": ["g", "s", "g2"], "b": ["s", "g", "l"], "Freedom": [-1.0, 1.0, 2.0],
                         "Love": [1.0, -1.0, 1.0]})
    families = {"g": "Gemma", "g2": "Gemma", "s": "SmolLM", "l": "Llama"}
    mixed = implicit.fig3_direction(fig3, families)
    assert (mixed["n"], mixed["wins"], mixed["verdict"]) == (2, 1, "mixed")  # the reversed pair s -> g is left out
    assert mixed["checks"] == (False, True)
    assert implicit.fig3_direction(fig3.iloc[:2], families)["verdict"] == "opposite to the paper"
    agrees = implicit.fig3_direction(fig3.iloc[2:], families)
    assert agrees["verdict"] == "agrees with the paper" and agrees["text"].startswith("Freedom above Love in 1 of 1")
    assert implicit.fig3_direction(fig3.iloc[1:2], families)["verdict"] == "not comparable"
    assert implicit.fig3_direction(fig3.iloc[1:2], families)["checks"] == ()
