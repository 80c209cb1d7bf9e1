"""Tables for readers (rmnb.book.tables): every cell in full, no index, integer ranks, p-values, dashes."""

import numpy as np
import pandas as pd
import pytest

from rmnb.book import tables


def test_p_values_read_as_a_reader_expects():
    assert tables.format_p(0.0004995) == "< 0.001"
    assert tables.format_p(0.001) == "0.00100"
    assert tables.format_p(0.0123456) == "0.0123"
    assert tables.format_p(0.5) == "0.500"
    assert tables.format_p(1.0) == "1.00"
    assert tables.format_p(np.nan) == tables.DASH and tables.format_p(None) == tables.DASH


def test_floats_never_in_exponent_notation_and_never_a_bare_zero():
    assert tables.format_float(-0.4213) == "-0.42"
    assert tables.format_float(0.00034) == "0.00034"  # too small for 2 places: 2 significant digits
    assert "e" not in tables.format_float(3.2e-9)
    assert tables.format_float(-0.001, decimals=1) == "-0.0010"
    assert tables.format_float(-0.004, decimals=1) == "-0.0040"
    assert tables.format_float(-0.04, decimals=1) == "-0.040"  # not "-0.0"
    assert tables.format_float(0.0) == "0.00"
    assert tables.format_float(12345.678) == "12,345.68"
    assert tables.format_float(float("inf")) == "∞"


def test_show_drops_a_default_index_keeps_a_named_one_and_formats_by_column():
    df = pd.DataFrame({"model": ["R-Gem-2B", "R-Lla-3B"], "median_rank": [5.0, 12.0], "p_welch": [0.0004, 0.2],
                       "cohen_d": [0.41234, np.nan], "gemma": [True, False], "n": [1652, 13258]})
    table = tables.show(df)
    assert list(table.frame.columns) == ["model", "median rank", "p welch", "cohen d", "gemma", "n"]
    assert table.frame.iloc[0].tolist() == ["R-Gem-2B", "5", "< 0.001", "0.41", "yes", "1652"]
    assert table.frame.iloc[1].tolist() == ["R-Lla-3B", "12", "0.200", tables.DASH, "no", "13,258"]
    assert table.kinds == ["text", "int", "p", "float", "bool", "int"]
    lines = table.markdown.splitlines()
    assert lines[1] == "|---|---:|---:|---:|---|---:|"  # numbers right-aligned (the CSS keeps them on one line)
    named = tables.show(df.set_index("model"))
    assert named.frame.columns[0] == "model" and len(named.frame.columns) == 6


def test_show_never_truncates_and_escapes_markup():
    long = "Skywork, from step 1,000: agency +12.3 -> +4.5, communion -7.8 -> -2.1 (within seed noise) " * 3
    table = tables.show(pd.DataFrame({"claim": ["a | b", "*not emphasis* $x$ `code` {ref}"], "this book": [long, None]}))
    assert table.frame.iloc[0, 1] == long  # the whole text, not cut at 50 characters
    assert tables.escape_markdown(long.strip()) in table.markdown
    row = table.markdown.splitlines()[3]
    assert r"\*not emphasis\* \$x\$ \`code\` \{ref\}" in row
    assert table.markdown.splitlines()[2].startswith(r"| a \| b |")
    assert row.endswith(f"| {tables.DASH} |")


def test_headers_from_labels_and_multiindex():
    df = pd.DataFrame([[1.5, 2.5]], columns=pd.MultiIndex.from_tuples([("Agency", "Gemma"), ("Agency", "Llama")]))
    assert list(tables.show(df).frame.columns) == ["Agency · Gemma", "Agency · Llama"]
    assert list(tables.show(pd.DataFrame({"gap": [1.0]}), labels={"gap": "Llama − Gemma"}).frame.columns) == [
        "Llama − Gemma"]


@pytest.mark.parametrize("in_book", [True, False])
def test_caption_is_a_numbered_table_in_the_book_and_a_bold_line_in_jupyter(monkeypatch, in_book):
    if in_book:
        monkeypatch.setenv("RMNB_CHAPTER", "05_training_ablations")
    else:
        monkeypatch.delenv("RMNB_CHAPTER", raising=False)
    text = tables.show(pd.DataFrame({"a": [1]}), caption="The paper next to ours", name="tbl-05-paper").markdown
    if in_book:
        assert text.startswith(":::{table} The paper next to ours\n:name: tbl-05-paper\n") and text.endswith(":::")
    else:
        assert text.startswith("**The paper next to ours**\n\n| a |")


def test_markdown_and_plain_reprs():
    table = tables.show(pd.DataFrame({"rank": [1.0, 2.0]}))
    assert table._repr_markdown_() == table.markdown
    assert "rank" in repr(table) and "1.0" not in repr(table)
