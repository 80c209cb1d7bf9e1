"""Known-answer tests of the statistics: they fail if the definitions drift. The sequential F tests are checked
against R's published output for a dataset that is not ours (below)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from rmnb.analysis import stats


def test_rank_within_highest_is_one_ties_averaged():
    frame = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 2, "score": [3.0, 1.0, 3.0, 2.0, 0.5, 1.0, 2.0]})
    ranks = stats.rank_within(frame, "g").tolist()
    assert ranks == [1.5, 4.0, 1.5, 3.0, 5.0, 2.0, 1.0]


def test_median_ranks_joins_lexicon_and_takes_medians():
    scores = pd.DataFrame({"model": "m", "family": "Gemma", "prompt_id": "best_ever_one", "framing": "positive",
                           "response": ["a1", "a2", "c1", "c2", "extra"], "score": [4.0, 1.0, 3.0, 2.0, 9.0]})
    lexicon = pd.DataFrame({"term": ["a1", "a2", "c1", "c2"], "category": ["A", "A", "C", "C"]})
    med = stats.median_ranks(scores, lexicon).set_index("category")
    # "extra" is dropped before ranking: ranks a1=1, c1=2, c2=3, a2=4
    assert med.loc["A", "sum_value"] == 2.5 and med.loc["C", "sum_value"] == 2.5
    assert med.loc["A", "n_items"] == 2


def _simulated(planted: float, seed: int = 0, n_models: int = 10, n_gemma: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(n_models):
        family = "Gemma" if m < n_gemma else "Llama"
        offset = rng.normal(0, 3)
        for category in ("Agency", "Communion"):
            for p in range(54):
                framing = "positive" if p < 27 else "negative"
                three = planted * (family == "Llama") * (category == "Communion") * (framing == "negative")
                rows.append(dict(model=f"m{m}", family=family, category=category, framing=framing,
                                 prompt_id=f"p{p}", sum_value=100 + offset + three + rng.normal(0, 5)))
    return pd.DataFrame(rows)


def test_mixed_model_recovers_planted_interaction_with_nlme_df():
    table, _ = stats.fit_mixed_model(_simulated(planted=-20.0))
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert three.estimate == pytest.approx(-20.0, abs=3.0)
    assert three.p_t < 1e-6
    assert three.df == 1080 - 10 - 6
    assert table.set_index("term").loc["family[Llama]", "df"] == 8


def test_mixed_model_with_one_model_per_family_leaves_family_untestable():
    # chapter 01's exercise 2: one RM per family leaves 0 between-model df for the family term
    table, _ = stats.fit_mixed_model(_simulated(planted=-20.0, n_models=2, n_gemma=1))
    terms = table.set_index("term")
    assert terms.loc["family[Llama]", "df"] == 0 and np.isnan(terms.loc["family[Llama]", "p_t"])
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert three.estimate == pytest.approx(-20.0, abs=8.0) and three.p_t < 1e-3  # SE about 2.7


def test_mixed_model_null_interaction_is_not_significant():
    table, _ = stats.fit_mixed_model(_simulated(planted=0.0, seed=3))
    three = table[table.term.str.count(":") == 2].iloc[0]
    assert abs(three.estimate) < 4 and three.p_t > 0.01


def test_welch_and_cohen_d_known_values():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0, 7.0])
    # mean diff 2.5; var a 1.6667, var b 2.5 -> t = 2.5 / sqrt(1.6667/4 + 2.5/5)
    assert stats.welch_t(a, b) == pytest.approx(2.5 / np.sqrt(1.6666667 / 4 + 0.5), rel=1e-6)
    pooled = np.sqrt((3 * 1.6666667 + 4 * 2.5) / 7)
    assert stats.cohen_d(a, b) == pytest.approx(2.5 / pooled, rel=1e-6)


def test_permutation_p_is_seeded_and_bounded():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 30), rng.normal(0, 1, 30)
    p1 = stats.permutation_p(a, b, 999, seed=5)
    assert p1 == stats.permutation_p(a, b, 999, seed=5)
    assert 1 / 1000 <= p1 <= 1
    far = stats.permutation_p(a, b + 10, 999, seed=5)
    assert far == pytest.approx(1 / 1000)


def test_panel_tests_bonferroni_and_direction():
    med = _simulated(planted=-20.0)
    panels = stats.panel_tests(med, n_permutations=199)
    assert len(panels) == 4
    assert (panels.p_welch_bonf == np.minimum(panels.p_welch * 4, 1)).all()
    cell = panels[(panels.category == "Communion") & (panels.framing == "negative")].iloc[0]
    assert cell.mean_llama < cell.mean_gemma and cell.cohen_d < 0 and cell.stars_welch != "n.s."


# --- sequential F tests against R ------------------------------------------------------------------------------------
# R's ``anova(lme)`` (sequential F, nlme containment df) against published output for a dataset that is not ours.
#
# Data: ``tests/data/orthodont.csv``, nlme's ``Orthodont`` (Potthoff & Roy 1964); see ``tests/data/README.md``.
#
# Published numbers:
#
# - ``anova(lme(distance ~ age * Sex, random = ~1 | Subject, data = Orthodont))`` and the model's ``summary()``,
#   as printed by R/nlme in the knitted tutorial "Basic Univariate Statistics - LME" (a GitHub README rendered
#   from R; located with a code search for the printed line ``age:Sex 1 79 6.303``).
# - nlme's own regression output ``tests/extras/scripts.Rout.save`` (CRAN mirror ``cran/nlme``; Pinheiro & Bates
#   2000, ch. 4 scripts): ``lmList(Orthodont)`` per-subject coefficients and ``lm(distance ~ Sex * age)`` with
#   Helmert contrasts, used to check the transcribed data.

DATA = pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "orthodont.csv")

# anova(l): term -> (numDF, denDF, F-value, p-value as printed; None = "<.0001")
PUBLISHED_ANOVA = {
    "(Intercept)": (1, 79, 4123.156, None),
    "age": (1, 79, 122.450, None),
    "Sex": (1, 25, 9.292, 0.0054),
    "age:Sex": (1, 79, 6.303, 0.0141),
}
# summary(l): fixed effects (treatment coding, Male reference) and the two standard deviations
PUBLISHED_FIXED = {"Intercept": 16.340625, "age": 0.784375, "Sex[T.Female]": 1.032102,
                   "age:Sex[T.Female]": -0.304830}
PUBLISHED_SD = {"Subject": 1.816214, "Residual": 1.386382}

# nlme scripts.Rout.save, ch04: coef(lmList(Orthodont)) as printed (intercept 3 significant digits, slope 3 dp)
PUBLISHED_LMLIST = {
    "M16": (17.0, 0.550), "M05": (13.7, 0.850), "M02": (14.9, 0.775), "M11": (20.1, 0.325), "M07": (15.0, 0.800),
    "M08": (19.8, 0.375), "M03": (16.0, 0.750), "M12": (13.2, 1.000), "M13": (2.8, 1.950), "M14": (19.1, 0.525),
    "M09": (14.4, 0.975), "M15": (13.5, 1.125), "M06": (19.0, 0.675), "M04": (24.7, 0.175), "M01": (17.3, 0.950),
    "M10": (21.2, 0.750), "F10": (13.5, 0.450), "F09": (18.1, 0.275), "F06": (17.0, 0.375), "F01": (17.2, 0.375),
    "F05": (19.6, 0.275), "F07": (16.9, 0.550), "F02": (14.2, 0.800), "F08": (21.4, 0.175), "F03": (14.4, 0.850),
    "F04": (19.7, 0.475), "F11": (19.0, 0.675),
}


@pytest.fixture(scope="module")
def fit():
    model = smf.mixedlm("distance ~ age * C(Sex, Treatment('Male'))", DATA, groups=DATA["Subject"])
    return model.fit(reml=True, **stats.TIGHT_FIT)


def test_orthodont_transcription_matches_nlme_outputs():
    assert len(DATA) == 108 and DATA.Subject.nunique() == 27
    assert DATA.groupby("Sex").Subject.nunique().to_dict() == {"Female": 11, "Male": 16}
    for subject, (intercept, slope) in PUBLISHED_LMLIST.items():
        rows = DATA[DATA.Subject == subject]
        b, a = np.polyfit(rows.age, rows.distance, 1)
        assert round(b, 3) == pytest.approx(slope, abs=1e-9), subject
        assert a == pytest.approx(intercept, abs=0.051), subject
    # lm(distance ~ Sex * age) with contr.helmert (Sex1 = +1 for Female): 16.8567, 0.5161, 0.6320, -0.1524
    helmert = DATA.assign(sex1=np.where(DATA.Sex == "Female", 1.0, -1.0))
    ols = smf.ols("distance ~ sex1 * age", helmert).fit()
    assert ols.params.round(4).tolist() == [16.8567, 0.5161, 0.6320, -0.1524]


def test_reml_fit_matches_nlme_summary(fit):
    fixed = {k.replace("C(Sex, Treatment('Male'))", "Sex"): v for k, v in fit.fe_params.items()}
    for name, value in PUBLISHED_FIXED.items():
        assert fixed[name] == pytest.approx(value, abs=5e-6), name
    assert np.sqrt(fit.cov_re.iloc[0, 0]) == pytest.approx(PUBLISHED_SD["Subject"], abs=5e-6)
    assert np.sqrt(fit.scale) == pytest.approx(PUBLISHED_SD["Residual"], abs=5e-6)


def test_sequential_f_matches_published_anova_lme(fit):
    table = stats.sequential_f_tests(fit).set_index("term")
    assert list(table.index) == list(PUBLISHED_ANOVA)  # R's term order, not patsy's
    for term, (num, den, f, p) in PUBLISHED_ANOVA.items():
        row = table.loc[term]
        assert (row.num_df, row.den_df) == (num, den), term
        assert row.F == pytest.approx(f, abs=0.0005 + 1e-9), term  # printed to 3 decimals
        if p is None:
            assert row.p < 0.0001
        else:
            assert row.p == pytest.approx(p, abs=0.00005), term


def test_sequential_order_is_the_formula_order_and_coding_free():
    swapped = smf.mixedlm("distance ~ Sex * age", DATA, groups=DATA["Subject"]).fit(reml=True, **stats.TIGHT_FIT)
    table = stats.sequential_f_tests(swapped).set_index("term")
    assert list(table.index) == ["(Intercept)", "Sex", "age", "Sex:age"]
    # every child is measured at the same four ages, so age is orthogonal to Sex and the order of the two main
    # effects changes nothing here; the numbers stay the published ones
    for term, published in [("Sex", "Sex"), ("age", "age"), ("Sex:age", "age:Sex")]:
        assert table.loc[term, "F"] == pytest.approx(PUBLISHED_ANOVA[published][2], abs=0.0005)


def test_marginal_wald_differs_from_sequential_except_last_term(fit):
    names = list(fit.fe_params.index)
    cov = fit.cov_params().loc[names, names].to_numpy()
    wald = {n: fit.fe_params[n] ** 2 / cov[i, i] for i, n in enumerate(names)}
    seq = stats.sequential_f_tests(fit).set_index("term").F
    last = [n for n in names if ":" in n][0]
    assert wald[last] == pytest.approx(seq["age:Sex"], rel=1e-10)
    sex = [n for n in names if n.startswith("C(Sex") and ":" not in n][0]
    assert wald[sex] == pytest.approx(0.671321 ** 2, abs=1e-4)  # summary's t for SexFemale
    assert abs(wald[sex] - seq["Sex"]) > 5  # the treatment-coded Wald row is not R's anova row


def test_nlme_term_df_counts_between_and_within_terms():
    groups = np.repeat(np.arange(10), 20)
    between = (groups < 4).astype(float)
    within = np.tile([0.0, 1.0], 100)
    exog = np.column_stack([np.ones(200), between, within, between * within])
    assign = {"Intercept": [0], "b": [1], "w": [2], "b:w": [3]}
    df = stats.nlme_term_df(exog, assign, groups)
    assert df == {"b": 10 - 1 - 1, "w": 200 - 10 - 2, "b:w": 200 - 10 - 2, "Intercept": 200 - 10 - 2}


def test_sequential_table_of_the_papers_model_on_simulated_data():
    from test_stats import _simulated

    table, result = stats.fit_mixed_model(_simulated(planted=-20.0))
    seq = stats.sequential_f_tests(result)
    assert seq.term.tolist() == ["(Intercept)", "family", "category", "framing", "family:category",
                                 "family:framing", "category:framing", "family:category:framing"]
    assert seq.set_index("term").den_df.to_dict() == {
        "(Intercept)": 1064, "family": 8, "category": 1064, "framing": 1064, "family:category": 1064,
        "family:framing": 1064, "category:framing": 1064, "family:category:framing": 1064}
    wald = stats.term_f_tests(table, result).set_index("term")
    last = seq.iloc[-1]
    assert last.F == pytest.approx(wald.loc["family:category:framing", "F"], rel=1e-8)
    assert last.den_df == wald.loc["family:category:framing", "den_df"]


def test_term_test_table_puts_wald_beside_sequential():
    from test_stats import _simulated

    table, result = stats.fit_mixed_model(_simulated(planted=-20.0))
    both = stats.term_test_table(stats.term_f_tests(table, result), stats.sequential_f_tests(result))
    assert both.columns.tolist() == ["term", "num_df", "den_df", "F_sequential", "p_sequential", "F_wald", "p_wald",
                                     "same_hypothesis"]
    assert both.term.iloc[0] == "(Intercept)" and np.isnan(both.F_wald.iloc[0])
    assert both.same_hypothesis.tolist() == [False] * 7 + [True]
    last = both.iloc[-1]
    assert last.F_sequential == pytest.approx(last.F_wald, rel=1e-8)


def test_dictionary_analysis_carries_the_sequential_table():
    from rmnb.analysis import dictionary as da
    from test_stats import _simulated

    med = _simulated(planted=-20.0)
    scores = med.rename(columns={"category": "response", "sum_value": "score"})  # one "word" per category
    lexicon = pd.DataFrame({"term": ["Agency", "Communion"], "category": ["Agency", "Communion"]})
    analysis = da.analyse(scores, lexicon, n_permutations=9)
    assert analysis.sequential.term.tolist()[-1] == "family:category:framing"
    assert {"F_sequential", "F_wald"} <= set(da.term_tests(analysis).columns)

    class Sink:
        def __init__(self):
            self.values = {}

        def glue(self, name, value):
            self.values[name] = value

    sink = Sink()
    da.glue_sequential(sink, analysis)
    assert sink.values["seq_family_den_df"] == 8
    assert {"seq_intercept_F", "seq_family_category_framing_p"} <= set(sink.values)


def test_significance_words():
    assert stats.significance(0.01) == "significant"
    assert stats.significance(0.05) == "not significant"
    assert stats.significance(float("nan")) == "not testable"


def test_d_by_panel_text():
    from rmnb.analysis import dictionary as da

    panels = pd.DataFrame({"category": ["Agency", "Communion"], "framing": ["positive", "negative"],
                           "cohen_d": [-0.412, 0.9]})
    assert da.d_by_panel(panels) == "Agency/positive 0.41, Communion/negative 0.90"


def test_median_shift_between_two_lexicons():
    from rmnb.analysis import dictionary as da

    scores = pd.DataFrame({"model": "m", "family": "Gemma", "prompt_id": "p", "framing": "positive",
                           "response": ["a", "b", "c", "d"], "score": [4.0, 3.0, 2.0, 1.0]})
    one = pd.DataFrame({"term": ["a", "b", "c", "d"], "foundation": ["X", "X", "Y", "Y"]})
    both = pd.concat([one, pd.DataFrame({"term": ["c"], "foundation": ["X"]})])  # "c" also in X
    shift = da.median_shift(scores, one, both, "foundation").set_index("foundation")
    assert shift.loc["X", "sum_value_a"] == 1.5 and shift.loc["X", "sum_value_b"] == 2.0
    # the extra membership is an extra ranked row (join, then rank, as the pipeline does): "c" ties with itself
    # at 3.5 and "d" moves to rank 5, so Y moves too
    assert shift.loc["Y", "sum_value_b"] == 4.25 and shift.loc["Y", "shift"] == 0.75
    summary = da.shift_summary(shift)
    assert summary == {"max_abs": 0.75, "median_abs": 0.625, "share_moved": 1.0}
