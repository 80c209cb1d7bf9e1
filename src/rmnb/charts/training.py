"""Charts for reward-model training (chapters 05 and 06): median ranks across checkpoints (Figure 4a), final-checkpoint
ranks by data size and source (Figure 4b / A5b), rank changes of words (Figure 5), held-out accuracy and loss.

Colours come from :mod:`rmnb.base.labels`: base families (Gemma red, Llama blue, Qwen purple, SmolLM amber) and the
Big Two categories (Agency green, Communion yellow). Every rank axis is reversed, so better ranks are higher.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rmnb.base.labels import CATEGORY_COLOURS
from rmnb.charts.style import family_color, family_scale

SOURCE_SHAPES = {"uf": "circle", "skywork": "triangle-up", "uf+skywork": "diamond"}  # R shapes 16, 17, 18



def checkpoint_lines(med: pd.DataFrame, y_title: str, x: str = "step", x_title: str = "Training step",
                     label: str = "base_label", width: int = 230, height: int = 200) -> alt.FacetChart:
    """Figure 4a layout: median rank of each category's tokens at each checkpoint, one line per base, one panel
    per category. ``med`` has ``category, family, <label>, <x>, median_rank``."""
    colour = family_color("family", med.family)
    base = alt.Chart(med).encode(
        x=alt.X(f"{x}:Q", title=x_title),
        y=alt.Y("median_rank:Q", title=y_title, scale=alt.Scale(reverse=True, zero=False)),
        color=colour, detail=f"{label}:N",
        tooltip=[f"{label}:N", "category:N", f"{x}:Q", alt.Tooltip("median_rank:Q", format=".1f")])
    chart = (base.mark_line() + base.mark_point(filled=True, size=35)).properties(width=width, height=height)
    return chart.facet(column=alt.Column("category:N", title=None, sort=list(CATEGORY_COLOURS)))


def ablation_points(final: pd.DataFrame, y_title: str, width: int = 300, height: int = 230) -> alt.FacetChart:
    """Figure 4b layout: final-checkpoint median rank per base (colour) at each data size (x, ordinal, GRM last)
    and source (shape), a dotted line joining the bases at each size; one panel per category. ``final`` has
    ``label, plotted_k, source, base, category, sum_value`` (:func:`rmnb.analysis.ablations.final_table`)."""
    order = final[["label", "plotted_k"]].drop_duplicates().sort_values("plotted_k").label.tolist()
    bases, colours = family_scale(final.base.astype(str))
    span = final.groupby(["category", "label"], observed=True).sum_value.agg(lo="min", hi="max").reset_index()
    # altair facets a layered chart only when the layers share one table: stack points and spans.
    data = pd.concat([final.assign(layer="point"), span.assign(layer="span")], ignore_index=True)
    for column in ("base", "category"):
        data[column] = data[column].astype("string")
    x = alt.X("label:N", sort=order, title="Preference pairs (GRM: off-the-shelf, plotted last)")
    y = alt.Y("sum_value:Q", title=y_title, scale=alt.Scale(reverse=True, zero=False))
    rule = alt.Chart().transform_filter(alt.datum.layer == "span").mark_rule(strokeDash=[2, 2], color="grey").encode(
        x=x, y=alt.Y("lo:Q", title=y_title, scale=alt.Scale(reverse=True, zero=False)), y2="hi:Q")
    points = alt.Chart().transform_filter(alt.datum.layer == "point").mark_point(filled=True, size=80).encode(
        x=x, y=y,
        color=alt.Color("base:N", title="Base", scale=alt.Scale(domain=bases, range=colours)),
        shape=alt.Shape("source:N", title="Data source",
                        scale=alt.Scale(domain=list(SOURCE_SHAPES), range=list(SOURCE_SHAPES.values()))),
        tooltip=["file:N", "base:N", "category:N", "label:N", "source:N", "final_checkpoint:Q",
                 alt.Tooltip("sum_value:Q", format=".1f")])
    return alt.layer(rule, points, data=data).properties(width=width, height=height).facet(
        column=alt.Column("category:N", title=None, sort=list(CATEGORY_COLOURS)))


def rank_change_bars(changes: pd.DataFrame, width: int = 220, height: int = 320) -> alt.FacetChart:
    """Figure 5 layout: the words whose rank improved most (positive: preferred late in training) and worsened
    most (negative: preferred early), coloured by category; one panel per base. ``changes`` has
    ``base_label, word, category, rank_change``."""
    colour = alt.Color("category:N", scale=alt.Scale(domain=list(CATEGORY_COLOURS),
                                                     range=list(CATEGORY_COLOURS.values())), title="Category")
    bars = alt.Chart(changes).mark_bar().encode(
        y=alt.Y("word:N", sort=alt.EncodingSortField("rank_change", order="descending"), title=None),
        x=alt.X("rank_change:Q", title="Rank change (first - last checkpoint); > 0 = preferred late"),
        color=colour, tooltip=["word:N", "category:N", "rank_first:Q", "rank_last:Q", "rank_change:Q"])
    return bars.properties(width=width, height=height).facet(
        column=alt.Column("base_label:N", title=None)).resolve_scale(y="independent")


def accuracy_chart(acc: pd.DataFrame, width: int = 260, height: int = 160) -> alt.LayerChart:
    """Held-out pairwise accuracy with its 95% interval per base and checkpoint (step 0 vs final), and chance."""
    order = ["step 0 (untrained head)", "final"]
    y = alt.Y("base_label:N", title=None)
    x = alt.X("accuracy:Q", title="Held-out pairwise accuracy", scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("when:N", sort=order, title=None, scale=alt.Scale(domain=order, range=["#9CA3AF", "#111827"]))
    off = alt.YOffset("when:N", sort=order)
    pts = alt.Chart(acc).mark_point(filled=True, size=70).encode(y=y, x=x, color=colour, yOffset=off,
                                                                  tooltip=["base_label", "when", "accuracy", "n"])
    bars = alt.Chart(acc).mark_rule().encode(y=y, x="ci_low:Q", x2="ci_high:Q", color=colour, yOffset=off)
    chance = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 3], color="grey").encode(x="x:Q")
    return alt.layer(bars, pts, chance).properties(width=width, height=height)


def loss_curves(log: pd.DataFrame, width: int = 300, height: int = 160) -> alt.Chart:
    """Training loss per optimizer step, one line per base (``log`` has ``step, loss, family, base_label``)."""
    return alt.Chart(log).mark_line(point=True).encode(
        x=alt.X("step:Q", title="Training step"), y=alt.Y("loss:Q", title="Bradley-Terry loss (train batch)"),
        color=family_color("family", log.family), detail="base_label:N",
        tooltip=["base_label:N", "step:Q", alt.Tooltip("loss:Q", format=".3f")]).properties(width=width, height=height)


# --- the value-neutral experiment (chapter 06) ------------------------------------------------------------

def framing_accuracy(rows: pd.DataFrame, floor: dict, width: int = 200, height: int = 110) -> alt.HConcatChart:
    """Held-out accuracy per seed (points) at step 0 and at the end, one panel per framing (all, positive,
    negative), one colour per base family; dashed rules: chance and the floor.
    ``rows``: :func:`rmnb.analysis.value_neutral.accuracy_rows` with a ``family`` column."""
    order = ["step 0 (random head)", "final"]
    data = rows.assign(checkpoint=rows.when.map({"step0": order[0], "final": order[1]}))
    panels = []
    for framing in [f for f in ("all", "positive", "negative") if f in set(data.framing)]:
        part = data[data.framing == framing]
        points = alt.Chart(part).mark_point(filled=True, size=60).encode(
            x=alt.X("accuracy:Q", title=f"Held-out accuracy ({framing})", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("checkpoint:N", title=None, sort=order), color=family_color("family", data.family),
            shape=alt.Shape("base_label:N", title="Base"),
            tooltip=["base_label:N", "seed:Q", "checkpoint:N", alt.Tooltip("accuracy:Q", format=".3f")])
        level = floor["overall"] if framing == "all" else floor["framing"]
        rules = pd.DataFrame({"x": [0.5, level], "what": ["chance", "floor"]})
        lines = alt.Chart(rules).mark_rule(strokeDash=[4, 3], color="#6B7280").encode(x="x:Q", tooltip=["what:N"])
        panels.append((points + lines).properties(width=width, height=height))
    return alt.hconcat(*panels)


def learning_curves(curve: pd.DataFrame, x: str = "step", x_title: str = "Training step", width: int = 230,
                    height: int = 160) -> alt.FacetChart:
    """Held-out accuracy at each checkpoint, one line per (base, seed), one panel per framing.
    ``curve``: :func:`rmnb.analysis.value_neutral.curves` with a ``family`` column."""
    return alt.Chart(curve).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=x_title), y=alt.Y("accuracy:Q", title="Held-out accuracy",
                                                 scale=alt.Scale(domain=[0.3, 1])),
        color=family_color("family", curve.family), detail="seed:N",
        tooltip=["base_label:N", "seed:Q", f"{x}:Q", alt.Tooltip("accuracy:Q", format=".3f")],
    ).properties(width=width, height=height).facet(
        column=alt.Column("framing:N", title=None, sort=["all", "positive", "negative"]))


def seed_gap_points(gaps: pd.DataFrame, summary: pd.DataFrame, x_title: str, width: int = 260,
                    height: int = 110) -> alt.HConcatChart:
    """The between-base gap per seed (points) and its seed mean (red tick) with interval (grey bar), at step 0 and
    at the end, one panel per category; dashed: no gap."""
    when = {"step0": "step 0 (random head)", "final": "final"}
    order = list(when.values())
    pts = gaps.assign(checkpoint=gaps.when.map(when), category=gaps.category.astype(str))
    summ = summary.assign(checkpoint=summary.when.map(when))
    panels = []
    for cat in sorted(set(pts.category)):
        y = alt.Y("checkpoint:N", sort=order, title=None)
        dots = alt.Chart(pts[pts.category == cat]).mark_point(color="#111827").encode(
            x=alt.X("gap:Q", title=f"{cat}: {x_title}"), y=y,
            tooltip=["seed:Q", alt.Tooltip("gap:Q", format="+.1f")])
        part = summ[summ.category == cat]
        bars = alt.Chart(part).mark_rule(strokeWidth=3, color="#9CA3AF").encode(x="low:Q", x2="high:Q", y=y)
        means = alt.Chart(part).mark_tick(color="#DC2626", thickness=2, size=18).encode(
            x="mean_gap:Q", y=y, tooltip=[alt.Tooltip("mean_gap:Q", format="+.1f"), "verdict:N"])
        zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 3], color="#6B7280").encode(x="x:Q")
        panels.append(alt.layer(bars, dots, means, zero).properties(width=width, height=height))
    return alt.hconcat(*panels)


def inheritance_scatter(words: pd.DataFrame, x_title: str, y_title: str, width: int = 260,
                        height: int = 230) -> alt.FacetChart:
    """Per Big Two noun (points, coloured by category): the base models' log-prob rank difference (x) against the
    RMs' reward rank difference (y), one panel per checkpoint (step 0: untrained heads; final).
    ``words``: ``word, category, lm_diff, rm_diff, checkpoint``."""
    return alt.Chart(words).mark_point(filled=True, opacity=0.7).encode(
        x=alt.X("lm_diff:Q", title=x_title), y=alt.Y("rm_diff:Q", title=y_title),
        color=alt.Color("category:N", scale=alt.Scale(domain=list(CATEGORY_COLOURS),
                                                      range=list(CATEGORY_COLOURS.values())), title="Category"),
        tooltip=["word:N", "category:N", alt.Tooltip("lm_diff:Q", format="+.1f"),
                 alt.Tooltip("rm_diff:Q", format="+.1f")],
    ).properties(width=width, height=height).facet(
        column=alt.Column("checkpoint:N", title=None, sort=["step 0 (untrained heads)", "final"]))
