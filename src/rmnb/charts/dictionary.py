"""Charts of the §2 chapters (altair): Figure 1's per-family violins of median ranks with per-model means."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

from rmnb.charts.style import family_color, family_order


def _violin_rows(values: np.ndarray, centre: float, half_width: float = 0.38, n: int = 80) -> pd.DataFrame:
    """A violin outline as rows (y, x, x2) around ``centre``; max half-width ``half_width``."""
    if len(values) < 2 or np.ptp(values) == 0:
        return pd.DataFrame({"y": [values.min(), values.max()], "x": centre - 0.05, "x2": centre + 0.05})
    grid = np.linspace(values.min(), values.max(), n)
    density = gaussian_kde(values)(grid)
    width = half_width * density / density.max()
    return pd.DataFrame({"y": grid, "x": centre - width, "x2": centre + width})


def family_panels(med: pd.DataFrame, per_model: pd.DataFrame, tests: pd.DataFrame, category: str,
                  y_title: str, star_column: str = "stars_welch", spread: str = "se",
                  points: bool = False, width: int = 150, height: int = 200) -> alt.FacetChart:
    """The paper's Figure 1 layout: rows = framing, columns = category; per panel, a violin of each family's
    prompt-level median ranks, each model's mean +/- SE (``spread="sd"``: +/- SD, as in Figure A1), the family
    mean (diamond, +/- SE) joined by a dotted line, and the test's stars. The y axis is reversed (better = up).
    ``points=True`` adds the prompt-level points (Figure A1's beeswarm, jittered)."""
    families = family_order(med.family)
    pos = {f: i + 1 for i, f in enumerate(families)}
    keys = [category, "framing"]
    layers = []
    for (cat, framing, fam), cell in med.groupby([category, "framing", "family"], observed=True):
        vals = cell.sum_value.to_numpy(float)
        v = _violin_rows(vals, pos[fam]).assign(layer="violin")
        fm = pd.DataFrame({"layer": ["family"], "x": [pos[fam]], "y": [vals.mean()],
                           "ylo": [vals.mean() - vals.std(ddof=1) / np.sqrt(len(vals))],
                           "yhi": [vals.mean() + vals.std(ddof=1) / np.sqrt(len(vals))]})
        frames = [v, fm]
        if points:
            rng = np.random.default_rng(0)
            frames.append(pd.DataFrame({"layer": "point", "y": vals, "model": cell.model.to_numpy(),
                                        "x": pos[fam] + rng.uniform(-0.18, 0.18, len(vals))}))
        for frame in frames:
            frame[category], frame["framing"], frame["family"] = cat, framing, fam
            layers.append(frame)
    for (cat, framing, fam), cell in per_model.groupby([category, "framing", "family"], observed=True):
        offsets = np.linspace(-0.22, 0.22, len(cell)) if len(cell) > 1 else np.zeros(1)
        layers.append(pd.DataFrame({"layer": "model", "model": cell.model.to_numpy(), "x": pos[fam] + offsets,
                                    "y": cell["mean"].to_numpy(), "ylo": (cell["mean"] - cell[spread]).to_numpy(),
                                    "yhi": (cell["mean"] + cell[spread]).to_numpy(), category: cat,
                                    "framing": framing, "family": fam}))
    top = med.groupby(keys, observed=True).sum_value.min().rename("y").reset_index()
    star_rows = tests[[("category" if category not in tests else category), "framing", star_column]].copy()
    star_rows.columns = [category, "framing", "label"]
    layers.append(top.merge(star_rows, on=keys).assign(layer="stars", x=1.5))
    data = pd.concat(layers, ignore_index=True)

    colour = family_color("family", families)
    label_expr = " : ".join(f"datum.value == {p} ? '{f}'" for f, p in pos.items()) + " : ''"
    x = alt.X("x:Q", title=None, scale=alt.Scale(domain=[0.4, len(families) + 0.6], nice=False),
              axis=alt.Axis(values=list(pos.values()), labelExpr=label_expr, grid=False))
    y = alt.Y("y:Q", title=None, scale=alt.Scale(reverse=True, zero=False))  # y_title: once, on the rows
    base = alt.Chart()

    def only(name):
        return base.transform_filter(alt.datum.layer == name)

    violin = only("violin").mark_area(orient="horizontal", opacity=0.3).encode(
        y=y, x=x, x2="x2:Q", color=colour, detail="family:N")
    model_bar = only("model").mark_rule(opacity=0.6).encode(x=x, y=y, y2="yhi:Q", color=colour)
    model_bar_lo = only("model").mark_rule(opacity=0.6).encode(x=x, y="ylo:Q", y2="y:Q", color=colour)
    model_pt = only("model").mark_circle(size=30, opacity=0.7).encode(
        x=x, y=y, color=colour, tooltip=["model:N", alt.Tooltip("y:Q", title="mean", format=".1f")])
    fam_bar = only("family").mark_rule(color="black").encode(x=x, y=y, y2="yhi:Q")
    fam_bar_lo = only("family").mark_rule(color="black").encode(x=x, y="ylo:Q", y2="y:Q")
    fam_line = only("family").mark_line(color="black", strokeDash=[2, 2]).encode(x=x, y=y)
    fam_pt = only("family").mark_point(shape="diamond", filled=True, color="black", size=70).encode(
        x=x, y=y, tooltip=["family:N", alt.Tooltip("y:Q", title="family mean", format=".1f")])
    star = only("stars").mark_text(fontSize=13, dy=-4, baseline="bottom").encode(x=x, y=y, text="label:N")
    layer_list = [violin, model_bar, model_bar_lo, model_pt, fam_bar, fam_bar_lo, fam_line, fam_pt, star]
    if points:
        layer_list.insert(1, only("point").mark_circle(size=10, opacity=0.35).encode(x=x, y=y, color=colour))
    chart = alt.layer(*layer_list, data=data).properties(width=width, height=height)
    return chart.facet(
        row=alt.Row("framing:N", sort=["positive", "negative"], title=y_title),
        column=alt.Column(f"{category}:N", title=None),
    ).resolve_scale(y="independent")
