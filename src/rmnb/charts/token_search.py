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


def note(text: str, width: int = 480) -> alt.Chart:
    """A chart that only says ``text`` (in place of a figure this run cannot draw)."""
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=14, align="left", x=0, y=20).encode(
        text="text:N").properties(width=width, height=40)


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
    the diagonal (equal scores) dashed. Tokens scored under both prompts only; without both prompts, a note that
    says so."""
    if not {x_prompt, y_prompt} <= set(scores.prompt_id):
        return alt.hconcat(note(f"Not computed: this run's prompts lack “{x_prompt}” or “{y_prompt}”."))
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
