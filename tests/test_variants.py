"""Re-running a chapter with another model writes only into that model's own folder."""

import json

import pytest

from conftest import copy_book_sources


@pytest.fixture()
def tiny_rm_folder(tmp_path):
    """A tiny randomly initialised Llama reward model with a ChatML tokenizer, saved as a local folder."""
    import torch
    from transformers import LlamaForSequenceClassification

    from _tiny import chatml_tokenizer, llama_config

    torch.manual_seed(0)
    tok = chatml_tokenizer()
    model = LlamaForSequenceClassification(llama_config(tok, num_labels=1))
    folder = tmp_path / "tiny-rm"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_variant_run_writes_only_its_own_folder(tmp_path, monkeypatch, tiny_rm_folder, data_dir):
    from rmnb import cli

    root = copy_book_sources(tmp_path / "book-copy")
    monkeypatch.setenv("RMNB_ROOT", str(root))
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert cli.main(["run", "01", "--model", str(tiny_rm_folder), "--smoke", "--no-build"]) == 0

    runs = root / "book" / "_runs"
    (variant,) = list(runs.iterdir())
    assert (variant / "01_big_two.ipynb").exists() and (variant / "_toc.yml").exists()
    results = json.loads((variant / "results" / "01_big_two.json").read_text())
    assert results["n_models"] == 11  # the paper's 10 plus the new RM
    assert not (root / "book" / "chapters").exists() and not (root / "_build").exists()
    after = sorted(p.relative_to(root) for p in root.rglob("*") if runs not in p.parents and p != runs)
    assert after == before, "nothing outside book/_runs/<model> changed"


def test_model_flag_on_a_chapter_without_model_parameter_fails_before_work(tmp_path, monkeypatch, capsys):
    from rmnb import cli
    from rmnb.builder import variants

    monkeypatch.setitem(variants.MODEL_HOOKS, "01_big_two", None)
    monkeypatch.delitem(variants.MODEL_HOOKS, "01_big_two")
    assert cli.main(["run", "01", "--model", "x/y", "--no-build"]) == 2
    assert "takes no --model" in capsys.readouterr().err


def test_model_flag_for_every_chapter_with_models():
    """--model works for each chapter that has models (03/04 get a pair with the model in it), or says which do."""
    from conftest import ROOT
    from rmnb.base.paths import chapter_sources
    from rmnb.builder import variants

    ch = {p.stem[:2]: p for p in chapter_sources(ROOT)}
    banner = {"variant_model": "x/rm"}  # every variant page names the model it adds
    assert variants.model_parameters(ch["00"], "x/rm") == {"rms": ["x/rm"], **banner}
    assert variants.model_parameters(ch["07"], "x/rm") == {"extra_rms": ["x/rm"], **banner}
    p03 = variants.model_parameters(ch["03"], "x/lm")
    assert p03["instruct_pair"] == p03["pretrained_pair"] == ["gemma3-270m", "x/lm"]
    assert variants.model_parameters(ch["03"], "gemma3-270m")["instruct_pair"] == ["gemma3-270m",
                                                                                 "smollm2-135m-instruct"]
    p04 = variants.model_parameters(ch["04"], "x/lm")
    assert (p04["model_a"], p04["model_b"], p04["pairs"]) == ("gemma3-270m", "x/lm",
                                                              ["gemma3-270m>x/lm", "x/lm>gemma3-270m"])
    assert p03["variant_model"] == p04["variant_model"] == "x/lm"
    from rmnb.book.parameters import validate_parameters

    for stem, values in (("03", p03), ("04", p04)):  # the values fit the chapters' parameter types
        validate_parameters(ch[stem], values)
    for stem in ("05", "06"):
        with pytest.raises(Exception, match="takes no --model.*00_token_search, 01_big_two"):
            variants.model_parameters(ch[stem], "x/lm")


def test_model_of_the_wrong_kind_fails_before_work(capsys):
    from rmnb import cli

    assert cli.main(["run", "03", "--model", "smollm2-135m-hh-rm", "--no-build"]) == 2
    assert "is a reward model" in capsys.readouterr().err
    assert cli.main(["run", "01", "--model", "smollm2-135m-instruct", "--no-build"]) == 2
    assert "is a language model" in capsys.readouterr().err
