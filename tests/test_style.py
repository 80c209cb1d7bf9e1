"""One palette across the book and one y title per facet (rmnb.charts.style, rmnb.base.labels)."""

import json
import re

import numpy as np
import pandas as pd
import vl_convert

from rmnb.base.labels import EXTRA_FAMILY_COLOURS, FAMILY_COLOURS, family_colour
from rmnb.charts import dictionary
from rmnb.charts.style import family_order, family_scale, model_colours, shade


def test_a_family_has_one_colour_everywhere():
    assert family_colour("Gemma") == FAMILY_COLOURS["Gemma"] and family_colour("Llama") == FAMILY_COLOURS["Llama"]
    assert family_colour("Mistral") == family_colour("Mistral") in EXTRA_FAMILY_COLOURS
    assert not set(EXTRA_FAMILY_COLOURS) & set(FAMILY_COLOURS.values())
    # the colour of a family does not depend on which other families share the chart
    assert dict(zip(*family_scale(["Llama", "Mistral"])))["Llama"] == dict(zip(*family_scale(["Gemma", "Llama"])))[
        "Llama"]
    assert family_order(["Mistral", "SmolLM", "Gemma", "Other"]) == ["Gemma", "SmolLM", "Other", "Mistral"]


def test_two_models_of_one_family_get_shades_of_its_colour_never_another_familys():
    models, colours = model_colours(["gemma3-270m", "my-gemma"], ["Gemma", "Gemma"], distinct=True)
    assert colours[0] == FAMILY_COLOURS["Gemma"] and colours[1] != colours[0]
    assert colours[1] not in FAMILY_COLOURS.values()
    assert colours[1] == shade(FAMILY_COLOURS["Gemma"], 1)
    _, plain = model_colours(["a", "b"], ["Gemma", "SmolLM"], distinct=True)
    assert plain == [FAMILY_COLOURS["Gemma"], FAMILY_COLOURS["SmolLM"]]
    assert len({shade("#DB4437", k) for k in range(5)}) == 5
    assert shade("#808080", 1) < "#808080" < shade("#808080", 2)  # darker, then lighter


def test_family_panels_put_the_y_title_once_and_take_an_unknown_family():
    rng = np.random.default_rng(0)
    rows = []
    for fam, model in (("Gemma", "g"), ("Llama", "l"), ("Mistral", "m")):
        for cat in ("Agency", "Communion"):
            for framing in ("positive", "negative"):
                rows += [dict(category=cat, framing=framing, family=fam, model=model, sum_value=v)
                         for v in rng.normal(50, 10, 6)]
    med = pd.DataFrame(rows)
    per_model = med.groupby(["model", "family", "category", "framing"]).sum_value.agg(
        mean="mean", se="sem").reset_index()
    tests = pd.DataFrame([dict(category=c, framing=f, stars_welch="*") for c in ("Agency", "Communion")
                          for f in ("positive", "negative")])
    chart = dictionary.family_panels(med, per_model, tests, "category", "Median rank")
    svg = vl_convert.vegalite_to_svg(chart.to_json())  # drawn as a browser would: the titles it shows
    assert svg.count("Title text 'Median rank'") == 1
    axes = re.findall(r'aria-label="(Y-axis[^"]*)"', svg)
    assert len(axes) == 4 and not [a for a in axes if "titled" in a], axes  # four panels, no per-panel y title
    layers = json.loads(chart.to_json())["spec"]["layer"]
    colour = next(layer["encoding"]["color"] for layer in layers if "color" in layer.get("encoding", {}))
    assert colour["scale"]["domain"] == ["Gemma", "Llama", "Mistral"]
    assert colour["scale"]["range"] == [FAMILY_COLOURS["Gemma"], FAMILY_COLOURS["Llama"], family_colour("Mistral")]
