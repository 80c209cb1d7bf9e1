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
    from rmnb.book import variants

    monkeypatch.setitem(variants.MODEL_HOOKS, "01_big_two", None)
    monkeypatch.delitem(variants.MODEL_HOOKS, "01_big_two")
    assert cli.main(["run", "01", "--model", "x/y", "--no-build"]) == 2
    assert "takes no --model" in capsys.readouterr().err
