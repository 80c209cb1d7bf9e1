"""Charts of the exhaustive token search (chapter 00) and of the Love/Freedom comparison (chapter 07), in altair.
Colours come from :mod:`rmnb.base.labels` (family colours; Love red and Freedom blue as in the paper's Figure 3)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from rmnb.base.labels import WORD_COLOURS, family_colour, shown
from rmnb.charts.style import model_scale


def _thin(frame: pd.DataFrame, max_points: int, by: str = "model", seed: int = 0) -> pd.DataFrame:
    """At most ``max_points`` rows per ``by`` group (a seeded random subset) so that pages stay small."""
    parts = [g if len(g) <= max_points else g.sample(max_points, random_state=seed)
             for _, g in frame.groupby(by, sort=False)]
    return pd.concat(parts, ignore_index=True)


def distributions(scores: pd.DataFrame, prompt_id: str, bins: int = 60) -> alt.FacetChart:
    """Histogram of every searched token's score for one prompt, one panel per model (own x scale)."""
    frame = scores[scores.prompt_id == prompt_id]
    rows = []
    for model, group in frame.groupby("model", sort=False):
        counts, edges = np.histogram(group.score.to_numpy(float), bins=bins)
        rows.append(pd.DataFrame({"model": model, "family": group.family.iloc[0], "lo": edges[:-1], "hi": edges[1:],
                                  "count": counts}))
    data = pd.concat(rows, ignore_index=True)
    colour = model_scale(data.model.unique(), data.drop_duplicates("model").family)
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("lo:Q", title="reward score"), x2="hi:Q", y=alt.Y("count:Q", title="tokens"),
        color=alt.Color("model:N", scale=colour, legend=None),
        tooltip=[alt.Tooltip("lo:Q", format=".3g"), alt.Tooltip("hi:Q", format=".3g"), "count:Q"],
    ).properties(width=260, height=140).facet(
        column=alt.Column("model:N", title=None, sort=list(data.model.unique()))).resolve_scale(x="independent")


def best_worst(scores: pd.DataFrame, x_prompt: str = "best", y_prompt: str = "worst",
               max_points: int = 3000) -> alt.HConcatChart:
    """FAccT Figure 4: each token's score under one prompt against another, one panel per model (own scales), with
    the diagonal (equal scores) dashed. Tokens scored under both prompts only."""
    wide = scores[scores.prompt_id.isin([x_prompt, y_prompt])].pivot_table(
        index=["model", "family", "token_id", "response"], columns="prompt_id", values="score").dropna().reset_index()
    wide = _thin(wide, max_points)
    wide["shown"] = wide.response.map(shown)
    order = [m for m in dict.fromkeys(scores.model) if m in set(wide.model)]
    panels = []
    for model in order:
        pts = wide[wide.model == model]
        lo = float(min(pts[x_prompt].min(), pts[y_prompt].min()))
        hi = float(max(pts[x_prompt].max(), pts[y_prompt].max()))
        scale = alt.Scale(domain=[lo, hi], zero=False, nice=False)
        colour = family_colour(pts.family.iloc[0])
        diag = alt.Chart(pd.DataFrame({"x": [lo], "y": [lo], "x2": [hi], "y2": [hi]})).mark_rule(
            strokeDash=[4, 3], color="gray").encode(x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale),
                                                    x2="x2:Q", y2="y2:Q")
        dots = alt.Chart(pts).mark_circle(size=8, opacity=0.35, color=colour).encode(
            x=alt.X(f"{x_prompt}:Q", scale=scale, title=f"score, '{x_prompt}' prompt"),
            y=alt.Y(f"{y_prompt}:Q", scale=scale, title=f"score, '{y_prompt}' prompt"),
            tooltip=["shown:N", alt.Tooltip(f"{x_prompt}:Q", format=".3f"), alt.Tooltip(f"{y_prompt}:Q", format=".3f")])
        panels.append(alt.layer(diag, dots).properties(width=240, height=240, title=model))
    return alt.hconcat(*panels)


def tau_heatmap(tau: pd.DataFrame) -> alt.LayerChart:
    """FAccT Figure 2a: Kendall's tau between every pair of models, annotated."""
    order = list(tau.index)
    long = tau.rename_axis("a").reset_index().melt(id_vars="a", var_name="b", value_name="tau")
    base = alt.Chart(long).encode(x=alt.X("b:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=300)),
                                  y=alt.Y("a:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)))
    rect = base.mark_rect().encode(color=alt.Color("tau:Q", title="Kendall's τ",
                                                   scale=alt.Scale(scheme="viridis", domain=[-1, 1])))
    text = base.mark_text(fontSize=13, fontWeight="bold").encode(
        text=alt.Text("tau:Q", format=".2f"),
        color=alt.condition(alt.datum.tau > 0.3, alt.value("black"), alt.value("white")))
    side = max(90, 70 * len(order))
    return alt.layer(rect, text).properties(width=side, height=side)


def mds_chart(positions: pd.DataFrame, families: dict) -> alt.LayerChart:
    """FAccT Figure 2b: the models placed by MDS on 1 - tau (axes have no units; only distances matter)."""
    data = positions.assign(family=positions.model.map(families))
    colour = model_scale(list(data.model), list(data.family))
    span = float(np.abs(data[["x", "y"]].to_numpy()).max() or 1.0) * 1.3
    scale = alt.Scale(domain=[-span, span])
    pts = alt.Chart(data).mark_circle(size=220, opacity=1).encode(
        x=alt.X("x:Q", scale=scale, title="MDS 1", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", scale=scale, title="MDS 2", axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("model:N", scale=colour, legend=None), tooltip=["model:N", "family:N"])
    labels = pts.mark_text(align="left", dx=12, dy=-8, fontSize=12, fontWeight="bold").encode(text="model:N")
    return alt.layer(pts, labels).properties(width=320, height=320)


def love_freedom(summary: pd.DataFrame, variants: pd.DataFrame | None = None) -> alt.VConcatChart:
    """Chapter 07: per model, the best rank of "love" (red) and "freedom" (blue) as the fraction of candidates
    ranked at or above it (log scale; left = better), joined by a grey line; small dots = every variant. One panel
    per family, stacked, with a shared x axis."""
    data = summary.dropna(subset=["share"]).copy()
    data["label"] = data.model + "  (" + data.source + ")"
    order = list(dict.fromkeys(data.label))
    wide = data.pivot_table(index=["label", "family"], columns="word", values="share").reset_index()
    for w in WORD_COLOURS:
        if w not in wide:
            wide[w] = np.nan
    wide = wide.dropna(subset=list(WORD_COLOURS))
    x_scale = alt.Scale(type="log")
    colour = alt.Color("word:N", scale=alt.Scale(domain=list(WORD_COLOURS), range=list(WORD_COLOURS.values())),
                       title=None)
    v = None
    if variants is not None and len(variants):
        v = variants.assign(label=variants.model + "  (" + variants.source + ")", share=variants["rank"] / variants.n)
        v = v[v.label.isin(order)]
    panels = []
    for fam in dict.fromkeys(data.family):
        rows = [lab for lab in order if lab in set(data.label[data.family == fam])]
        y = alt.Y("label:N", sort=rows, title=None, axis=alt.Axis(labelLimit=460))
        layers = [alt.Chart(wide[wide.family == fam]).mark_rule(color="gray", opacity=0.5, strokeWidth=1.5).encode(
            y=y, x=alt.X("love:Q", scale=x_scale), x2="freedom:Q")]
        if v is not None and (v.family == fam).any():
            layers.append(alt.Chart(v[v.family == fam]).mark_circle(size=18, opacity=0.45).encode(
                y=y, x=alt.X("share:Q", scale=x_scale), color=colour,
                tooltip=["label:N", "shown:N", alt.Tooltip("rank:Q", format=",.1f"), alt.Tooltip("n:Q", format=",")]))
        layers.append(alt.Chart(data[data.family == fam]).mark_point(filled=False, size=110, strokeWidth=2).encode(
            y=y, x=alt.X("share:Q", scale=x_scale,
                         title="fraction of candidates ranked at or above the word (log scale; left = better)"),
            color=colour,
            tooltip=["label:N", "word:N", "best_variant:N", alt.Tooltip("best_rank:Q", format=",.1f"),
                     alt.Tooltip("n:Q", format=","), alt.Tooltip("share:Q", format=".2e")]))
        panels.append(alt.layer(*layers).properties(width=420, height=max(40, 26 * len(rows)),
                                                    title=alt.TitleParams(fam, anchor="start")))
    return alt.vconcat(*panels).resolve_scale(x="shared")
