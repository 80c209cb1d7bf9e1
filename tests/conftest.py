"""Test-wide settings: no network, released data read from ``../shared/data``, caches under a temp folder."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads are 4x slower on a busy 2-core machine
_shared = ROOT.parent / "shared" / "data"
if "RMNB_DATA_DIR" not in os.environ and _shared.is_dir():
    os.environ["RMNB_DATA_DIR"] = str(_shared)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Every test module runs torch on one thread: the tiny test models gain nothing from threads, and on a busy
    2-core machine OpenMP threads slow them down several-fold. Chapter kernels run in their own processes."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = os.environ.get("RMNB_DATA_DIR")
    if not path or not Path(path).is_dir():
        pytest.skip("RMNB_DATA_DIR does not point at a local copy of the released data")
    return Path(path)


# The tiny offline models several test modules score with (built per module, from ``_tiny.py``).
@pytest.fixture(scope="module")
def tiny_rm():
    """A tiny randomly initialised Llama-like reward model, loaded as rmnb loads one (``tiny-org/tiny-rm``)."""
    from _tiny import chatml_tokenizer, llama_config, reward_model
    from rmnb.models.loading import wrap_model

    tok = chatml_tokenizer()
    return wrap_model(reward_model(llama_config(tok)), tok, model_id="tiny-org/tiny-rm", revision="r1")


@pytest.fixture(scope="module")
def tiny_lm():
    """A tiny randomly initialised Llama-like language model, loaded as rmnb loads one (``tiny-org/tiny-lm``)."""
    from _tiny import causal_model, chatml_tokenizer, llama_config
    from rmnb.models.loading import wrap_model

    tok = chatml_tokenizer()
    return wrap_model(causal_model(llama_config(tok)), tok, model_id="tiny-org/tiny-lm", revision="r1")


@pytest.fixture(scope="module")
def tiny_gemma_rm():
    """``(tokenizer, model)``: a tiny Gemma-like reward model; its tokenizer adds ``<bos>`` and its template one too."""
    from _tiny import gemma_config, gemma_tokenizer, reward_model

    tok = gemma_tokenizer()
    return tok, reward_model(gemma_config(tok))


# The jupytext front matter of a chapter source (MyST notebook), for tests that write small chapters of their own.
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


# A chapter that fails on request (``-p fail=True``); it prints "ran" otherwise.
FAILING_CHAPTER = MYST_HEADER + """
# A chapter that fails on request

```{code-cell} ipython3
:tags: [parameters]

fail = False  # True raises in the next cell
```

```{code-cell} ipython3
if fail:
    raise ValueError("asked to fail")
print("ran")
```
"""


BOOK_FILES = ("_config.yml", "_toc.yml", "CITATION.cff", "book", "notebooks", "data")


def copy_book_sources(dest: Path) -> Path:
    """Copy what a book build reads into ``dest`` (so tests never write into the repository)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("chapters", "_runs", "__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, data_dir) -> Path:
    """Run every chapter with the smoke settings and build the book strictly (-W) in a temp copy; returns
    the built ``_build/html`` folder. ``RMNB_BUILT_BOOK=<root>/_build/html`` reuses a book built before (the checks
    of the built HTML, such as test_html_leaks.py and test_browser.py, without rebuilding it)."""
    from rmnb.builder.runner import build_book

    if os.environ.get("RMNB_BUILT_BOOK"):
        return Path(os.environ["RMNB_BUILT_BOOK"])
    root = copy_book_sources(tmp_path_factory.mktemp("book"))
    return build_book(root=root, profile="smoke")


def interrupt_on_call(real, n: int):
    """``real``, except that its ``n``-th call raises ``KeyboardInterrupt`` (a crash or Ctrl-C mid-run)."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return wrapped


def save_tiny_rm(root: Path, words) -> Path:
    """A tiny randomly initialised reward model saved as ``root/rm`` and the responses ``root/words.txt``."""
    from _tiny import chatml_tokenizer, llama_config, reward_model

    tok = chatml_tokenizer()
    reward_model(llama_config(tok)).save_pretrained(root / "rm")
    tok.save_pretrained(root / "rm")
    (root / "words.txt").write_text("\n".join(words) + "\n")
    return root


def book_with_chapters(root: Path, chapters: dict) -> Path:
    """A minimal book at ``root``: a TOC and ``notebooks/<stem>.md`` for each ``{stem: source}``."""
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    for stem, source in chapters.items():
        (root / "notebooks" / f"{stem}.md").write_text(source)
    return root
