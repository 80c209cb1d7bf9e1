"""Chapter parameters: one vocabulary for every chapter, and every value rule in one place.

A chapter's parameters are the literals of its single ``parameters`` cell (their end-of-line comments are the help
of ``rmnb run NN --help``); ``notebooks/params/<profile>.yaml`` holds the values ``rmnb book`` (``default``) and
``rmnb book --smoke`` pass. :data:`RULES` says what each parameter of each chapter accepts (type, range, choices,
folders that must exist, pairs of different items) and :data:`CHECKS` what must hold between parameters. The runner
checks every value (defaults, profile and ``-p`` together) before papermill starts (:func:`validate_parameters`),
and each chapter's first code cell checks them again (:func:`check_values`), so a value set by papermill directly
or in Jupyter is checked too. Parameters read only under an option (``read_when``) are checked all the same, and
setting one while its option is off prints a warning.

The vocabulary (a name means the same thing in every chapter that has it):

==================  ==================================================================================================
``rms``             reward models: a list of registry ids, Hugging Face ids or folders (00, 06, 07)
``extra_rms``       reward models a variant page adds (``rmnb run 07 --model ID`` puts ID here) (07)
``lms``             language models: a list of ids (07)
``model_set``       a named set of models: ``embedded`` (the offline stand-ins) or ``paper`` (03, 04)
``*_pair``          two different model ids ``[A, B]`` (03); ``bases`` two base models (06)
``pairs``           ordered model pairs ``["A>B", ...]`` (04)
``model_a/b``       one model id (04); ``boost_base`` too
``prompt_set``      a named prompt set (``facct3`` in 00, ``paper54`` in 03) or a list of prompt ids
``prompt_id``       one paper prompt id (04); ``eval_prompts``: ``positive`` or a list of paper prompt ids (04)
``full_search``     prompts searched over the whole filtered vocabulary: ``auto``, ``all``, ``none`` or a list (00, 07)
``vocab_filter``    which vocabulary strings a search keeps; ``max_tokens`` its common sample (``null``: all)
``source``          ``auto``, ``live`` or ``released``; ``released_revision`` the released tables' dataset revision
``include_released``  also show the paper's 10 RMs from their released scores (01, 02, 07)
``refresh``         recompute what is cached (04, 06)
``seed``/``seeds``  a random seed (0 or more) / how many training seeds (1 or more)
``device``/``dtype``  ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` / ``auto``, ``float32``, ``bfloat16``, ``float16``
==================  ==================================================================================================

Lists are YAML lists, never comma-separated strings: ``rmnb run 07 -p "lms=[gemma3-270m, smollm2-135m-instruct]"``,
``rmnb run 04 -p "pairs=[gemma3-270m>smollm2-135m-instruct]"``. An old name (:data:`RENAMED`) is an error that
names the new one.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import jupytext
import yaml

from rmnb.base.errors import RmnbError
from rmnb.base.paths import repo_root
from rmnb.book import parameter_rules as r
from rmnb.book.parameter_rules import Rule


@dataclass(frozen=True)
class Parameter:
    name: str
    default: object
    comment: str

    @property
    def type_name(self) -> str:
        return "any" if self.default is None else type(self.default).__name__


def chapter_parameters(path: Path) -> dict[str, Parameter]:
    """The literals of the chapter's single ``parameters`` cell, with their end-of-line comments."""
    cells = [c for c in jupytext.read(path).cells
             if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise RmnbError(f"{path.name} must have exactly one code cell tagged 'parameters' (found {len(cells)}).")
    source = cells[0].source
    lines = source.splitlines()
    params = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise RmnbError(f"{path.name}: the parameters cell may only hold 'name = literal' lines.")
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        params[node.targets[0].id] = Parameter(node.targets[0].id, ast.literal_eval(node.value), comment)
    return params


_PERMUTATIONS = r.whole(99, why="too few for a permutation p-value", example=9999)
_SEED = r.whole(0, why="a random seed must be a non-negative integer", example=42)
_VARIANT = r.text(optional=True, example="smollm2-135m-valence-rm")   # set by rmnb run NN --model
_SEARCH_FILTER = r.one_of("auto", "all", "shared", "alpha")
_AUTO_FILTER = r.When("vocab_filter", "vocab_filter=auto", lambda v: v.get("vocab_filter") == "auto")
_RELEASED = r.When("source", "source=released or auto", lambda v: v.get("source") != "live")
_RELEASED_RMS = r.When("scores_dir", "scores_dir=null or include_released=true",
                       lambda v: v.get("scores_dir") is None or v.get("include_released") is True)


def _dictionary(example_models):
    return {"scores_dir": r.folder(),
            "include_released": r.flag(read_when=r.When("scores_dir", "a scores_dir",
                                                        lambda v: v.get("scores_dir") is not None)),
            "paper_models": r.paper_rms(example=example_models, read_when=_RELEASED_RMS),
            "n_permutations": _PERMUTATIONS, "seed": _SEED, "variant_model": _VARIANT}


_HH = r.When("hh_run", "hh_run=true", lambda v: v.get("hh_run") is True)
_SEARCHES = r.When("rms", "some rms or extra_rms", lambda v: bool(v.get("rms") or v.get("extra_rms")))

# Per chapter stem: parameter -> what it accepts. Every parameter of every chapter has one (a test checks it).
RULES: dict[str, dict[str, Rule]] = {
    "00_token_search": {
        "rms": r.model_ids(at_least=1, example=["smollm2-135m-valence-rm", "gemma3-270m-valence-rm"]),
        "prompt_set": r.prompt_keys("facct3", known=r.facct_keys, example=["greatest", "worst"]),
        "full_search": r.prompt_keys("auto", "all", "none", known=r.facct_keys, example=["greatest"]),
        "vocab_filter": _SEARCH_FILTER,
        "full_vocab_limit": r.whole(1, example=60000, read_when=_AUTO_FILTER),
        "max_tokens": r.whole(1, optional=True, example=4000),
        "dtype": r.DTYPE, "device": r.DEVICE, "n_show": r.whole(1, example=20), "variant_model": _VARIANT},
    "01_big_two": _dictionary(["R-Gem-2B", "R-Lla-3B"]),
    "02_moral_foundations": _dictionary(["R-Gem-2B", "R-Lla-3B"]),
    "03_base_model_logprobs": {
        "model_set": r.one_of("embedded", "paper"),
        "instruct_pair": r.model_ids(exactly=2, optional=True, noun="models", example=["gemma3-270m",
                                                                                    "smollm2-135m-instruct"]),
        "pretrained_pair": r.model_ids(exactly=2, optional=True, noun="models", example=["gemma3-270m",
                                                                                      "smollm2-135m-instruct"]),
        "prompt_set": r.prompt_keys("paper54", known=r.paper_prompt_ids, both_framings=True,
                                    example=["greatest_ever_one", "worst_ever_one"]),
        "source": r.one_of("auto", "live", "released"),
        "released_revision": r.revision(read_when=_RELEASED),
        "device": r.DEVICE, "variant_model": _VARIANT},
    "04_implicit_reward": {
        "model_set": r.one_of("embedded", "paper"),
        "model_a": r.model_id(optional=True, example="gemma3-270m"),
        "model_b": r.model_id(optional=True, example="smollm2-135m-instruct"),
        "pairs": r.ordered_pairs(example=["gemma3-270m>smollm2-135m-instruct"]),
        "prompt_id": r.prompt_id(example="greatest_ever_one"),
        "prompt_format": r.one_of("chat", "raw"),
        "source": r.one_of("auto", "live", "released"),
        "released_revision": r.revision(read_when=_RELEASED),
        "n_show": r.whole(1, example=15), "boost_base": r.model_id(optional=True, example="gemma3-270m"),
        "sft_steps": r.whole(1, example=50), "sft_batch": r.whole(1, example=4),
        "sft_learning_rate": r.number(above=0, below=1, example=0.0002), "sft_lora_r": r.whole(1, example=8),
        "eval_prompts": r.prompt_keys("positive", known=r.paper_prompt_ids, example=["greatest_ever_one"]),
        "recovery_k": r.whole(1, example=10), "refresh": r.flag(), "device": r.DEVICE,
        "variant_model": _VARIANT},
    "05_training_ablations": {
        "stable_tol": r.number(above=0, below=1, why="a fraction of the gap's range", example=0.1),
        "authors_checkpoints_dir": r.folder()},
    # Chapter 06 keeps its comma-separated pairs (comma=True) until its cell switches to lists.
    "06_training_live": {
        "rms": r.model_ids(exactly=2, known=r.trained_rm, noun="reward models rmnb trains",
                           example=["smollm2-135m-valence-rm", "gemma3-270m-valence-rm"]),
        "seeds": r.whole(1, why="at least one seed per base", example=10),
        "live_base": r.model_id(optional=True, example="gemma3-270m"),
        "live_steps": r.whole(1, why="the live run needs at least one optimizer step (live_base=null skips it)",
                              example=12, read_when=r.When("live_base", "a live_base",
                                                          lambda v: v.get("live_base") is not None)),
        "hh_run": r.flag(),
        "bases": r.model_ids(exactly=2, noun="base models", read_when=_HH,
                             example=["smollm2-135m-instruct", "gemma3-270m"]),
        "preset": r.one_of(*r.training_presets(), read_when=_HH),
        "data_source": r.data_source(read_when=_HH),
        "data_step": r.whole(1, optional=True, example=16,
                             read_when=r.When("data_source", "hh_run=true and Hub data (data_source other than "
                                              "hh-rlhf)", lambda v: v.get("hh_run") is True
                                              and v.get("data_source") not in ("hh-rlhf", "hh_rlhf"))),
        "n_train_pairs": r.whole(1, optional=True, example=384, read_when=_HH),
        "n_heldout_pairs": r.whole(1, optional=True, example=128, read_when=_HH),
        "checkpoint_every": r.whole(1, optional=True, example=12, read_when=_HH),
        "seed": r.whole(0, optional=True, why="a random seed must be a non-negative integer", example=1,
                        read_when=_HH),
        "vocab_filter": r.one_of("shared", "all", "paper"),
        "max_tokens": r.whole(1, optional=True, example=120), "refresh": r.flag(), "device": r.DEVICE},
    "07_greatest_thing": {
        "rms": r.model_ids(example=["smollm2-135m-valence-rm", "gemma3-270m-valence-rm"]),
        "extra_rms": r.model_ids(example=["smollm2-135m-hh-rm"]),
        "lms": r.model_ids(example=["gemma3-270m", "smollm2-135m-instruct"]),
        "include_released": r.flag(),
        "vocab_filter": r.one_of("auto", "all", "shared", "alpha", read_when=_SEARCHES),
        "full_vocab_limit": r.whole(1, example=60000, read_when=_AUTO_FILTER),
        "full_search": r.one_of("auto", "all", "none", read_when=_SEARCHES),
        "max_tokens": r.whole(1, optional=True, example=4000, read_when=_SEARCHES),
        "dtype": r.one_of("auto", "float32", "bfloat16", "float16", read_when=_SEARCHES),
        "device": r.DEVICE, "variant_model": _VARIANT},
}

# Per chapter stem: what must hold between its parameters (each returns a problem, or None).
CHECKS = {
    "00_token_search": [r.within_prompt_set("full_search", "prompt_set")],
    "04_implicit_reward": [r.implicit_pair_differs],
    "06_training_live": [r.live_base_in_pair],
    "07_greatest_thing": [r.something_to_compare],
}

# Per chapter stem: old parameter name -> the name it has now.
RENAMED = {
    "00_token_search": {"models": "rms", "full_prompts": "full_search"},
    "03_base_model_logprobs": {"models": "model_set"},
    "04_implicit_reward": {"models": "model_set", "refresh_cache": "refresh"},
    "07_greatest_thing": {"models": "extra_rms", "released": "include_released"},
}


def _fail(chapter: str, name: str, value, problem: str, rule: Rule) -> RmnbError:
    fix = rule.fix or (f"pass a valid value, e.g. `rmnb run {chapter[:2]} -p "
                       f"{r.cli_assignment(name, rule.suggestion())}`")
    return RmnbError(f"parameter {name}={value!r} of chapter {chapter}: {problem}. Fix: {fix}.")


def renamed_error(chapter: str, old: str) -> RmnbError | None:
    new = RENAMED.get(chapter, {}).get(old)
    if new is None:
        return None
    return RmnbError(f"parameter {old!r} of chapter {chapter} is now called {new!r} (one parameter vocabulary for "
                     f"every chapter; `rmnb run {chapter[:2]} --help` lists them). Fix: write -p {new}=... instead.")


def check_values(chapter: str, values: dict, defaults: dict | None = None, warn=None) -> list[str]:
    """Check ``chapter``'s parameter values (its stem, e.g. ``"01_big_two"``) against :data:`RULES` and
    :data:`CHECKS`; names without a rule are skipped, so a chapter can pass ``globals()``. Raises
    :class:`RmnbError` naming the parameter, the value, what is valid and the fix (an old name: the new one).
    Returns (and ``warn``s, default: prints) a warning for each parameter set (different from ``defaults``, by
    default the chapter's parameters cell) while the option it is read under is off."""
    for old in RENAMED.get(chapter, {}):
        if old in values and not isinstance(values[old], types.ModuleType) and old not in RULES.get(chapter, {}):
            raise renamed_error(chapter, old)
    rules = RULES.get(chapter, {})
    for name, rule in rules.items():
        if name in values:
            problem = rule.problem(values[name])
            if problem:
                raise _fail(chapter, name, values[name], problem, rule)
    present = {k: values[k] for k in rules if k in values}
    for check in CHECKS.get(chapter, []):
        if all(k in present for k in getattr(check, "needs", ())) and (problem := check(present)):
            raise RmnbError(f"parameters of chapter {chapter}: {problem}")
    if defaults is None:
        defaults = _cell_defaults(chapter)
    notes = []
    for name, rule in rules.items():
        when = rule.read_when
        if when is None or name not in present or name not in defaults or present[name] == defaults[name]:
            continue
        if not when.test({**defaults, **present}):
            notes.append(f"parameter {name}={present[name]!r} of chapter {chapter} has no effect: it is read only "
                         f"with {when.text}. Fix: set {when.option} too, or leave {name} out.")
    for note in notes:
        (warn or _print_warning)(note)
    return notes


_WARNED: set[str] = set()


def _print_warning(text: str) -> None:
    """Print a warning on stderr, once per process (the CLI, the runner and a variant run all check)."""
    if text not in _WARNED:
        _WARNED.add(text)
        print(f"rmnb: warning: {text}", file=sys.stderr, flush=True)


def _cell_defaults(chapter: str) -> dict:
    """The chapter's parameters cell, found under the book's root (empty when the source is not there)."""
    path = repo_root() / "notebooks" / f"{chapter}.md"
    try:
        return {k: p.default for k, p in chapter_parameters(path).items()} if path.exists() else {}
    except (RmnbError, OSError, ValueError, SyntaxError):
        return {}


_EXPONENT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def parse_value(text: str):
    """A command-line value: YAML scalars and lists (``999``, ``true``, ``null``, ``[a, b]``), ``2e-4`` as a
    number (YAML 1.1 would read it as text), else the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return float(value) if isinstance(value, str) and _EXPONENT.match(value.strip()) else value


def validate_parameters(path: Path, values: dict, warn=None) -> dict:
    """Check ``values`` for chapter ``path`` before any work: the names (an old name names the new one), then
    every value of the chapter as it will run (its cell's defaults with ``values`` over them) against its rule and
    the checks between parameters (:func:`check_values`). A parameter without a rule (a chapter outside
    :data:`RULES`) must have its default's type. Returns ``values``, normalised (ints widened to floats where a
    float is expected, folders made absolute, so a chapter running in ``notebooks/`` reads the folder meant)."""
    params = chapter_parameters(path)
    rules = RULES.get(path.stem, {})
    out = {}
    for name, value in values.items():
        if name not in params:
            error = renamed_error(path.stem, name)
            if error:
                raise error
            valid = ", ".join(f"{p.name} ({p.type_name})" for p in params.values())
            raise RmnbError(f"unknown parameter {name!r} for chapter {path.stem}. Valid parameters: {valid}.")
        out[name] = rules[name].normal(value) if name in rules else _typed(path.stem, params[name], value)
    defaults = {k: p.default for k, p in params.items()}
    check_values(path.stem, {**defaults, **out}, defaults=defaults, warn=warn)
    return out


def _typed(chapter: str, param: Parameter, value):
    default = param.default
    if default is None or value is None:
        return value
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise RmnbError(f"parameter {param.name!r} of chapter {chapter} must be {expected.__name__} "
                        f"(default {default!r}); got {value!r} ({type(value).__name__}).")
    return value


def default_parameters(path: Path, profile: str = "default") -> dict:
    """Values from ``notebooks/params/<profile>.yaml`` for this chapter (a mapping keyed by chapter stem)."""
    file = path.parent / "params" / f"{profile}.yaml"
    if not file.exists():
        return {}
    return dict((yaml.safe_load(file.read_text()) or {}).get(path.stem) or {})
