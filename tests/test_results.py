"""The results file every chapter writes next to its glued values."""

import json
import math

import numpy as np

from rmnb.book.results import Results


def test_non_finite_values_glue_as_numbers_and_record_as_null(tmp_path, monkeypatch):
    monkeypatch.setenv("RMNB_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("RMNB_CHAPTER", raising=False)
    res = Results("toy")
    shown = res.glue("p_value", np.float64("nan"))
    assert isinstance(shown, float) and math.isnan(shown)
    assert f"{shown:.2f}" == "nan"  # a {glue:text}`p_value:.2f` format still renders
    res.glue("n", np.int64(3))
    assert json.loads((tmp_path / "toy.json").read_text()) == {"p_value": None, "n": 3}
