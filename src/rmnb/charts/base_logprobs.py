"""Charts of chapter 03 (§3a, base-model log-probabilities, altair): Figure 2's split violins of the per-prompt
median ranks. Colours come from :mod:`rmnb.charts.style`."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from rmnb.charts.style import model_colours


def _half_violin(values: np.ndarray, centre: float, side: int, half_width: float = 0.36, n: int = 60):
    if len(values) < 2 or np.ptp(values) == 0:
        grid, width = np.array([values.min(), values.max()]), np.array([0.05, 0.05])
    else:
        grid = np.linspace(values.min(), values.max(), n)
        density = gaussian_kde(values)(grid)
        width = half_width * density / density.max()
    if side < 0:
        return pd.DataFrame({"y": grid, "x": centre - width, "x2": centre})
    return pd.DataFrame({"y": grid, "x": centre, "x2": centre + width})


def figure2(med: pd.DataFrame, post: pd.DataFrame, model_a: str, model_b: str, families=("Other", "Other"),
            labels: dict | None = None, n_words: int | None = None, width: int = 260,
            height: int = 170) -> alt.FacetChart:
    """Figure 2: one panel per valence (positive prompts left, negative right, side by side so the figure stays
    short), x = Big Two category; a split violin per category (model A left, model B right) of the per-prompt
    median ranks with the points over it, y reversed (better = up) and shared, so one axis title serves both
    panels, and the Benjamini-Hochberg stars of the Welch test above each category."""
    labels = labels or {}
    name = {model_a: labels.get(model_a, model_a), model_b: labels.get(model_b, model_b)}
    cats = ["Agency", "Communion"]
    pos = {c: i + 1 for i, c in enumerate(cats)}
    rng = np.random.default_rng(0)
    layers = []
    for (cat, valence, model), cell in med.groupby(["category", "valence", "model"], observed=True):
        side = -1 if model == model_a else 1
        vals = cell["rank"].to_numpy(float)
        v = _half_violin(vals, pos[cat], side).assign(layer="violin")
        pts = pd.DataFrame({"y": vals, "x": pos[cat] + side * rng.uniform(0.04, 0.3, len(vals)), "layer": "point",
                            "prompt_id": cell.prompt_id.to_numpy()})
        for frame in (v, pts):
            frame["category"], frame["valence"], frame["model"] = cat, valence, name[model]
            frame["group"] = f"{cat} / {name[model]}"
            layers.append(frame)
    top = med.groupby(["category", "valence"], observed=True)["rank"].min().rename("y").reset_index()
    if len(post):
        star = top.merge(post[["category", "valence", "stars", "p_fdr"]], on=["category", "valence"])
        star["x"] = star.category.map(pos)
        layers.append(star.rename(columns={"stars": "label"}).assign(layer="stars"))
    data = pd.concat(layers, ignore_index=True)
    domain, colours = model_colours([name[model_a], name[model_b]], families, distinct=True)
    colour = alt.Color("model:N", scale=alt.Scale(domain=domain, range=colours), title="Model",
                       legend=alt.Legend(orient="right"))
    label_expr = " : ".join(f"datum.value == {p} ? '{c}'" for c, p in pos.items()) + " : ''"
    x = alt.X("x:Q", title="Big Two category", scale=alt.Scale(domain=[0.4, 2.6], nice=False),
              axis=alt.Axis(values=list(pos.values()), labelExpr=label_expr, grid=False))
    worst = f" (#1 = best, #{n_words} = worst)" if n_words else ""
    y = alt.Y("y:Q", title=f"Median rank{worst}", scale=alt.Scale(reverse=True, zero=False))
    base = alt.Chart()

    def only(layer):
        return base.transform_filter(alt.datum.layer == layer)

    violin = only("violin").mark_area(orient="horizontal", opacity=0.35).encode(
        y=y, x=x, x2="x2:Q", color=colour, detail="group:N")
    point = only("point").mark_circle(size=22, opacity=0.75).encode(
        x=x, y=y, color=colour, tooltip=["model:N", "prompt_id:N", alt.Tooltip("y:Q", title="median rank")])
    chart_layers = [violin, point]
    if len(post):
        chart_layers.append(only("stars").mark_text(fontSize=13, dy=-6, baseline="bottom").encode(
            x=x, y=y, text="label:N", tooltip=[alt.Tooltip("p_fdr:Q", title="BH-corrected p", format=".2g")]))
    chart = alt.layer(*chart_layers, data=data).properties(width=width, height=height)
    return chart.facet(column=alt.Column("valence:N", sort=["positive", "negative"], title=None,
                                         header=alt.Header(labelExpr="datum.value + ' prompts'", labelFontSize=12)))
