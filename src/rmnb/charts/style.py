"""How every chart looks: altair's settings (made once, here) and the colour scales built from
:mod:`rmnb.base.labels` (base families, Big Two categories). Every chart module imports this one.

**One palette.** A base family has one colour on every page (:func:`rmnb.base.labels.family_colour`: Gemma red,
Llama blue, Qwen purple, SmolLM amber, other families grey or a colour picked by name); two models of one family in
one chart get shades of that family's colour (:func:`model_colours`), never another family's colour.

**Fitting the column.** Charts keep the width their module gives them (facets and concatenations cannot take
vega-lite's ``width="container"``); on a column narrower than a chart, the book's stylesheet
(``book/_static/rmnb.css``) scales the drawing down with its aspect ratio kept, so nothing runs past the column.

**One y title per facet.** A faceted chart whose panels have their own y scale puts the y title once, as the row
header's title, not on every panel.
"""

from __future__ import annotations

from collections import Counter

import altair as alt

from rmnb.base.labels import FAMILY_COLOURS, family_colour

alt.data_transformers.disable_max_rows()  # the book's charts embed their (thinned) data in the page


def family_order(families) -> list[str]:
    """The distinct ``families`` in the book's order: those of :data:`FAMILY_COLOURS` first, then others by name."""
    present = {str(f) for f in families}
    return [f for f in FAMILY_COLOURS if f in present] + sorted(present - set(FAMILY_COLOURS))


def family_scale(families) -> tuple[list[str], list[str]]:
    """Domain and colour range for an altair colour scale over ``families`` (in :func:`family_order`)."""
    domain = family_order(families)
    return domain, [family_colour(f) for f in domain]


def family_color(field: str = "family", families=(), title: str = "Base family") -> alt.Color:
    """An altair colour channel for a field holding family names, coloured by family."""
    domain, colours = family_scale(families)
    return alt.Color(f"{field}:N", scale=alt.Scale(domain=domain, range=colours), title=title)


def shade(colour: str, k: int) -> str:
    """The ``k``-th shade of a ``#RRGGBB`` colour: itself for 0, then darker (odd ``k``) and lighter (even ``k``),
    further from it as ``k`` grows."""
    if k == 0:
        return colour
    amount = min(0.3 * ((k + 1) // 2), 0.75)
    target = 0 if k % 2 else 255
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (target - c) * amount):02X}" for c in rgb)


def model_colours(models, families, distinct: bool = False) -> tuple[list[str], list[str]]:
    """Domain (the models, each once) and one colour per model: its family's colour. With ``distinct=True``, the
    second, third, ... model of a family gets a darker or lighter shade of the family's colour (:func:`shade`), so
    that the models of a pair always differ and every family keeps its colour."""
    pairs = dict(zip(models, families))  # a model listed twice gets one entry
    seen: Counter = Counter()
    out = []
    for fam in pairs.values():
        out.append(shade(family_colour(fam), seen[fam]) if distinct else family_colour(fam))
        seen[fam] += 1
    return list(pairs), out


def model_scale(models, families, distinct: bool = False) -> alt.Scale:
    """An altair scale mapping each model to its colour (:func:`model_colours`)."""
    domain, colours = model_colours(models, families, distinct)
    return alt.Scale(domain=domain, range=colours)
