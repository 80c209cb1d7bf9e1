"""The paper's claims as a chapter checks them (:mod:`rmnb.analysis.claims`): p-values in prose."""

from rmnb.analysis.claims import p_text


def test_p_text_floors_small_p_values():
    assert p_text(0.0004) == "p < 0.001" and p_text(0.001) == "p = 0.001"
    assert p_text(0.0423) == "p = 0.042" and p_text(0.5) == "p = 0.5"
