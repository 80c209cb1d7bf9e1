"""How every chart looks: altair's settings (made once, here) and the colour scales built from
:mod:`rmnb.base.labels` (base families, Big Two categories). Every chart module imports this one."""

from __future__ import annotations

import altair as alt

from rmnb.base.labels import FAMILY_COLOURS

alt.data_transformers.disable_max_rows()  # the book's charts embed their (thinned) data in the page

FALLBACK = ("#DB4437", "#0064E0")  # the paper's Gemma red and Llama blue, for models of unknown family


def family_scale(families) -> tuple[list[str], list[str]]:
    """Domain and colour range for an altair colour scale over ``families`` (in the book's family order)."""
    domain = [f for f in FAMILY_COLOURS if f in set(families)]
    return domain, [FAMILY_COLOURS[f] for f in domain]


def family_color(field: str = "family", families=(), title: str = "Base family") -> alt.Color:
    """An altair colour channel for a field holding family names, coloured by family."""
    domain, colours = family_scale(families)
    return alt.Color(f"{field}:N", scale=alt.Scale(domain=domain, range=colours), title=title)


def model_colours(models, families, distinct: bool = False) -> tuple[list[str], list[str]]:
    """Domain (the models) and one colour per model: its family's colour (unknown families grey). With
    ``distinct=True``, a repeated or unknown family falls back to red / blue / grey / purple so that the models
    of a pair always differ."""
    pairs = dict(zip(models, families))  # a model listed twice gets one entry
    out = []
    for fam in pairs.values():
        colour = FAMILY_COLOURS.get(fam)
        if distinct and (colour is None or colour in out or fam == "Other"):
            colour = next((c for c in (*FALLBACK, "#6B7280", "#7C3AED") if c not in out), "#6B7280")
        out.append(colour or FAMILY_COLOURS["Other"])
    return list(pairs), out


def model_scale(models, families, distinct: bool = False) -> alt.Scale:
    """An altair scale mapping each model to its colour (:func:`model_colours`)."""
    domain, colours = model_colours(models, families, distinct)
    return alt.Scale(domain=domain, range=colours)
