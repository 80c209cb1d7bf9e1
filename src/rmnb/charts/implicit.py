"""Charts of chapter 04 (§3b, the implicit reward, altair): the raw-ratio vs MWLR scatter, Figure 3's lollipop and
Figure A3's metric comparison. Colours come from :mod:`rmnb.base.labels`."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rmnb.base.labels import WORD_COLOURS, shown


def ratio_vs_mass(shared: pd.DataFrame, n_top: int = 15, n_background: int = 1500, seed: int = 0) -> alt.Chart:
    """Each shared string's score against its mixture mass 1/2 (p + q) (log x axis), one panel for the raw
    log-ratio and one for MWLR (each panel's header names its score, so the y axes carry no title); the ``n_top``
    highest-scoring strings of each metric are highlighted."""
    frames = []
    rng = np.random.default_rng(seed)
    for metric, column in (("raw log-ratio", "log_ratio"), ("MWLR", "mwlr")):
        order = shared[column].rank(ascending=False, method="first")
        keep = (order <= 100) | (order > len(shared) - 100)
        idx = np.flatnonzero(~keep.to_numpy())
        keep.iloc[rng.choice(idx, size=min(n_background, len(idx)), replace=False)] = True
        part = shared.loc[keep, ["token", "mass", column]].rename(columns={column: "score"})
        part["metric"] = metric
        part["group"] = np.where(order[keep] <= n_top, f"top {n_top} by this metric", "other strings")
        frames.append(part)
    data = pd.concat(frames, ignore_index=True)
    data["shown"] = data.token.map(shown)
    data = data.drop(columns="token")
    chart = alt.Chart(data).mark_circle().encode(
        x=alt.X("mass:Q", scale=alt.Scale(type="log"), title="mixture mass ½(p + q)"),
        y=alt.Y("score:Q", title=None),  # the panel's header names the score; the caption says its sign
        color=alt.Color("group:N", scale=alt.Scale(domain=[f"top {n_top} by this metric", "other strings"],
                                                   range=["#D62728", "#9CA3AF"]), title=None,
                        legend=alt.Legend(orient="bottom")),
        size=alt.condition(alt.datum.group == "other strings", alt.value(8), alt.value(40)),
        opacity=alt.condition(alt.datum.group == "other strings", alt.value(0.35), alt.value(0.9)),
        tooltip=["shown:N", alt.Tooltip("mass:Q", format=".2e"), alt.Tooltip("score:Q", format=".4g")],
    ).properties(width=260, height=220)
    return chart.facet(column=alt.Column("metric:N", title=None, sort=["raw log-ratio", "MWLR"])
                       ).resolve_scale(y="independent")


def lollipop(pairs: pd.DataFrame, words=("Freedom", "Love"), labels: dict | None = None) -> alt.Chart:
    """Figure 3: one row per (A -> B) pair, the variant-averaged MWLR of each word as a hollow circle (Freedom
    blue, Love red, as in the paper) joined by a grey line, and a vertical line at 0."""
    labels = labels or {}
    data = pairs.copy()
    data["pair"] = [f"{labels.get(a, a)} → {labels.get(b, b)}" for a, b in zip(data.a, data.b)]
    long = data.melt(id_vars=["pair"], value_vars=list(words), var_name="word", value_name="mwlr")
    order = list(data.pair)
    y = alt.Y("pair:N", sort=order, title=None, axis=alt.Axis(labelLimit=500))
    rule = alt.Chart(data).mark_rule(color="gray", opacity=0.5, strokeWidth=1.5).encode(
        y=y, x=alt.X(f"{words[1]}:Q"), x2=f"{words[0]}:Q")
    dots = alt.Chart(long).mark_point(filled=False, size=110, strokeWidth=2).encode(
        y=y, x=alt.X("mwlr:Q", title="MWLR (positive = preferred by the model after the arrow)"),
        color=alt.Color("word:N", scale=alt.Scale(domain=list(words), range=[WORD_COLOURS[w.lower()] for w in words]),
                        title=None),
        tooltip=["pair:N", "word:N", alt.Tooltip("mwlr:Q", format=".3g")])
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="gray", opacity=0.4).encode(x="x:Q")
    return alt.layer(zero, rule, dots).properties(width=420, height=max(60, 28 * len(data)))


def recovery_chart(per_prompt: pd.DataFrame, k: int) -> alt.Chart:
    """Figure A3-style comparison: each metric's recall@k of the planted words (bar = mean over prompts, points =
    individual prompts)."""
    order = (per_prompt.groupby("metric", sort=False).recall_at_k.mean().sort_values(ascending=False).index.tolist())
    highlight = alt.condition(alt.datum.metric == "MWLR", alt.value("#D62728"), alt.value("#6B7280"))
    bars = alt.Chart(per_prompt).mark_bar(opacity=0.6).encode(
        y=alt.Y("metric:N", sort=order, title=None),
        x=alt.X("mean(recall_at_k):Q", title=f"share of planted words in the top {k}", scale=alt.Scale(domain=[0, 1])),
        color=highlight)
    pts = alt.Chart(per_prompt).mark_circle(size=18, opacity=0.5, color="black").encode(
        y=alt.Y("metric:N", sort=order), x="recall_at_k:Q", yOffset=alt.YOffset("jitter:Q"),
        tooltip=["metric:N", "prompt_id:N", alt.Tooltip("recall_at_k:Q", format=".2f")]
    ).transform_calculate(jitter="random()")
    return alt.layer(bars, pts).properties(width=360, height=30 * per_prompt.metric.nunique())
