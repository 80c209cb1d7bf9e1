"""The kinds of value a chapter parameter takes (whole numbers, choices, folders, model ids, prompt lists ...),
as :class:`Rule` objects, and the checks between parameters. :data:`rmnb.book.parameters.RULES` assigns one to
every parameter of every chapter; this module only defines what each kind accepts and how it says so.

A rule's :meth:`Rule.problem` returns what is wrong with a value in words ("it must be at least 1"), never raises,
and never compares a value of the wrong type (``seed="abc"`` is "not a whole number", not a ``TypeError``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rmnb.base.errors import RmnbError


@dataclass(frozen=True)
class When:
    """The option a parameter is read under: ``option`` (the parameter that switches it), ``text`` (the
    condition in words, for the warning) and ``test`` (on every value of the chapter)."""

    option: str
    text: str
    test: Callable[[dict], bool]


@dataclass(frozen=True)
class Rule:
    """What values one parameter accepts. ``check`` says what is wrong with a value (``None``: valid);
    ``example`` is a valid value for the fix; ``fix`` replaces the default fix text; ``read_when`` is the option
    the parameter is read under (``None``: always read); ``normalise`` maps a valid value to what the chapter gets."""

    check: Callable[[object], str | None]
    example: object = None
    read_when: When | None = None
    fix: str | None = None
    normalise: Callable[[object], object] | None = None

    def problem(self, value) -> str | None:
        """What is wrong with ``value``, or None when it is valid (data a check needs and cannot read, such as
        the paper's prompt list offline, raises its own error)."""
        return self.check(value)

    def normal(self, value):
        return self.normalise(value) if self.normalise and self.problem(value) is None else value

    def suggestion(self):
        return self.example


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(at_least: int, *, optional: bool = False, why: str = "", example=None, read_when=None) -> Rule:
    """A whole number of at least ``at_least`` (``optional``: or null)."""
    def check(v):
        if v is None and optional:
            return None
        if not is_whole(v):
            return (f"it must be a whole number of at least {at_least}{' or null' if optional else ''}, not "
                    f"{type(v).__name__ if v is not None else 'null'}")
        if v < at_least:
            return f"{why}; use at least {at_least}" if why else f"it must be at least {at_least}"
        return None
    return Rule(check, at_least if example is None else example, read_when)


def number(*, above: float, below: float, why: str = "", example=None, read_when=None) -> Rule:
    """A number strictly between ``above`` and ``below`` (an int is widened to a float)."""
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not above < v < below:
            return f"it must be a number above {above} and below {below}" + (f" ({why})" if why else "")
        return None
    return Rule(check, example, read_when, normalise=float)


def flag(*, read_when=None) -> Rule:
    return Rule(lambda v: None if isinstance(v, bool) else "it must be true or false", True, read_when)


def one_of(*choices, read_when=None, example=None) -> Rule:
    def check(v):
        return None if isinstance(v, str) and v in choices else "it must be one of " + ", ".join(map(repr, choices))
    return Rule(check, choices[0] if example is None else example, read_when)


def text(*, optional: bool = False, example=None) -> Rule:
    def check(v):
        if v is None and optional:
            return None
        return None if isinstance(v, str) and v.strip() else "it must be a non-empty text"
    return Rule(check, example)


def _absolute_folder(value):
    path = Path(str(value)).expanduser()
    return str(path.resolve()) if path.is_dir() else value


def folder() -> Rule:
    """null, or a folder that exists (a relative path is read from where ``rmnb`` runs, and passed on absolute)."""
    def check(v):
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            return "it must be the path of a folder, or null"
        if not Path(v).expanduser().is_dir():
            return f"there is no folder {v!r} (relative paths are read from {Path.cwd()})"
        return None
    return Rule(check, None, fix="give a folder that exists, or leave the parameter out (null)",
                normalise=_absolute_folder)


def _model_problem(item, known) -> str | None:
    if not isinstance(item, str) or not item.strip():
        return f"{item!r} is not a model id"
    if known is not None:
        return known(item)
    from rmnb.models.loading import resolve_spec

    try:
        resolve_spec(item)
    except RmnbError as exc:  # an unknown id: the message names the registry ids
        return str(exc).rstrip(".")
    return None


def model_id(*, optional: bool = False, example=None) -> Rule:
    """One registry id, Hugging Face ``org/name`` id or existing folder (``optional``: or null)."""
    def check(v):
        return None if v is None and optional else _model_problem(v, None)
    return Rule(check, example, normalise=_absolute_folder)


def _as_list_hint(name_value: str) -> str:
    items = [x.strip() for x in name_value.split(",") if x.strip()]
    return "a list is written as a YAML list, e.g. [" + ", ".join(items or ["a", "b"]) + "]"


def model_ids(*, at_least: int = 0, exactly: int | None = None, optional: bool = False, comma: bool = False,
              known=None, noun: str = "models", example=None, read_when=None) -> Rule:
    """A list of different model ids (``comma``: one comma-separated text instead, for a chapter not yet on
    lists), ``exactly`` or ``at_least`` that many; each resolvable, or accepted by ``known``."""
    def check(v):
        if v is None and optional:
            return None
        if comma:
            if not isinstance(v, str):
                return f"give {_count(exactly, at_least)} different {noun}, comma-separated"
            items = [x.strip() for x in v.split(",") if x.strip()]
        elif isinstance(v, str):
            return _as_list_hint(v)
        elif not isinstance(v, (list, tuple)):
            return f"it must be a list of {noun}"
        else:
            items = list(v)
        if (exactly is not None and len(items) != exactly) or len(items) < at_least \
                or len(set(map(str, items))) != len(items):
            how = ", comma-separated" if comma else (" as a list [A, B]" if exactly == 2 else ", as a list")
            return f"give {_count(exactly, at_least)} different {noun}{how}"
        for item in items:
            if problem := _model_problem(item, known):
                return problem
        return None
    normal = None if comma else (lambda v: v if v is None else [_absolute_folder(x) for x in v])
    return Rule(check, example, read_when, normalise=normal)


def _count(exactly, at_least) -> str:
    words = {1: "one", 2: "two", 3: "three"}
    return f"exactly {words.get(exactly, exactly)}" if exactly is not None else f"at least {at_least}"


def ordered_pairs(*, example=None) -> Rule:
    """null, or a list of ``"A>B"`` items, each two different model ids."""
    def check(v):
        if v is None:
            return None
        if isinstance(v, str):
            return _as_list_hint(v).replace("YAML list", "YAML list of A>B items")
        if not isinstance(v, (list, tuple)) or not v:
            return "it must be a non-empty list of A>B items (two different model ids each), or null"
        for item in v:
            parts = [p.strip() for p in str(item).split(">")]
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                return f"{item!r} is not A>B with two different model ids"
            for part in parts:
                if problem := _model_problem(part, None):
                    return problem
        return None
    return Rule(check, example)


def facct_keys() -> list[str]:
    from rmnb.data.prompts import FACCT_PROMPTS

    return list(FACCT_PROMPTS)


def paper_prompt_ids() -> list[str]:
    from rmnb.data.prompts import paper_prompts

    return list(paper_prompts().prompt_id)


def prompt_keys(*names: str, known: Callable[[], list[str]], both_framings: bool = False, example=None) -> Rule:
    """One of ``names`` (a named set), or a non-empty list of different prompt ids that ``known`` lists
    (``both_framings``: at least one positive and one negative prompt)."""
    def check(v):
        if isinstance(v, str) and v in names:
            return None
        valid = "one of " + ", ".join(map(repr, names)) + " or a list of prompt ids"
        if isinstance(v, str):
            return f"it must be {valid}; " + _as_list_hint(v) if v.strip() else f"it must be {valid}"
        if not isinstance(v, (list, tuple)) or not v or len(set(map(str, v))) != len(v):
            return f"it must be {valid} (each id once)"
        ids = known()
        bad = [k for k in v if k not in ids]
        if bad:
            shown = ", ".join(ids[:6]) + (", ..." if len(ids) > 6 else "")
            return f"{bad[0]!r} is not a prompt id here (valid: {shown})"
        if both_framings:
            from rmnb.data.prompts import framing_of

            if len({framing_of(k) for k in v}) < 2:
                return "list both positive and negative prompts (the analysis compares the two framings)"
        return None
    return Rule(check, example)


def prompt_id(*, example=None) -> Rule:
    def check(v):
        if not isinstance(v, str) or v not in paper_prompt_ids():
            return "it must be one of the paper's 54 prompt ids, e.g. greatest_ever_one or worst_time_please"
        return None
    return Rule(check, example)


_REVISION = re.compile(r"^[A-Za-z0-9._/-]+$")


def revision(*, example="main", read_when=None) -> Rule:
    """A Hub revision: a commit hash (pinned, checked against recorded checksums) or a branch or tag name."""
    def check(v):
        return None if isinstance(v, str) and _REVISION.match(v) else "it must be a Hub commit hash or branch name"
    return Rule(check, example, read_when)


def paper_rms(*, example=None, read_when=None) -> Rule:
    """``"all"`` or a list of the paper's RMs (nicknames or Hugging Face ids)."""
    def check(v):
        from rmnb.models import registry

        if v == "all":
            return None
        if isinstance(v, str):
            return "it must be 'all' or a list of the paper's RMs; " + _as_list_hint(v)
        if not isinstance(v, (list, tuple)) or not v:
            return "it must be 'all' or a non-empty list of the paper's RMs"
        names = {n for s in registry.PAPER_RMS for n in (s.id, s.nickname)}
        bad = [m for m in v if m not in names]
        if bad:
            valid = ", ".join(s.nickname for s in registry.PAPER_RMS)
            return f"{bad[0]!r} is not one of the paper's 10 reward models ({valid})"
        return None
    return Rule(check, example, read_when)


def trained_rm(item: str) -> str | None:
    from rmnb.models import registry

    if registry.trained_recipe(item) is None:
        return f"{item!r} is not a reward model rmnb trains (known: {', '.join(registry.TRAINED_RMS)})"
    return None


def training_presets() -> tuple[str, ...]:
    from rmnb.training.recipe import PRESETS

    return tuple(PRESETS)


def data_source(*, read_when=None) -> Rule:
    """A named preference data source, or a Hub dataset id ``owner/name``."""
    from rmnb.data.preferences import NAMED_SOURCES

    def check(v):
        if isinstance(v, str) and (v in NAMED_SOURCES or re.match(r"^[\w.-]+/[\w.-]+$", v)):
            return None
        return "it must be one of " + ", ".join(map(repr, NAMED_SOURCES)) + " or a Hub dataset id owner/name"
    return Rule(check, NAMED_SOURCES[0], read_when)


def _device_problem(v) -> str | None:
    if isinstance(v, str) and (v in ("auto", "cpu", "cuda", "mps") or re.match(r"^cuda:\d+$", v)):
        return None
    return "it must be auto, cpu, cuda, cuda:N or mps"


DEVICE = Rule(_device_problem, "auto")
DTYPE = one_of("auto", "float32", "bfloat16", "float16")


def cli_assignment(name: str, value) -> str:
    """``name=value`` as typed after ``-p`` (YAML: null, true, [a, b]), quoted where a shell would split it."""
    def fmt(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)
    text = f"{name}={fmt(value)}"
    return f'"{text}"' if re.search(r"[\s\[\]>{}*?,&|;<]", text) else text


# --- checks between parameters (each returns a problem with its fix, or None) -----------------------------------

def _needs(*names):
    def mark(check):
        check.needs = names
        return check
    return mark


def within_prompt_set(name: str, set_name: str):
    @_needs(name, set_name)
    def check(v):
        chosen, prompt_set = v[name], v[set_name]
        if not isinstance(chosen, (list, tuple)):
            return None
        keys = facct_keys() if prompt_set == "facct3" else list(prompt_set)
        bad = [k for k in chosen if k not in keys]
        if bad:
            return (f"{name} names {bad}, which are not in {set_name} ({', '.join(keys)}). Fix: list prompts of "
                    f"{set_name} only, or use all / none / auto")
        return None
    return check


@_needs("model_set", "model_a", "model_b")
def implicit_pair_differs(v):
    from rmnb.analysis.implicit import PRESETS

    preset = PRESETS.get(v["model_set"], {})
    a, b = v["model_a"] or preset.get("a"), v["model_b"] or preset.get("b")
    if a is not None and a == b:
        return (f"model A and model B are both {a!r} (model_a={v['model_a']!r}, model_b={v['model_b']!r}, "
                f"model_set={v['model_set']!r}); Table 1 compares two different models. Fix: set model_a or "
                "model_b to another model")
    return None


@_needs("rms", "live_base")
def live_base_in_pair(v):
    from rmnb.models import registry

    ids = [str(x).strip() for x in (v["rms"] if isinstance(v["rms"], (list, tuple)) else str(v["rms"]).split(","))]
    bases = [registry.trained_recipe(i).base_id for i in ids if registry.trained_recipe(i) is not None]
    if v["live_base"] is not None and v["live_base"] not in bases:
        return (f"live_base={v['live_base']!r} is not one of the two bases of rms ({', '.join(bases)}). Fix: pass "
                "one of them, or live_base=null to skip the live run")
    return None


@_needs("include_released", "rms", "extra_rms", "lms")
def something_to_compare(v):
    if not (v["include_released"] or v["rms"] or v["extra_rms"] or v["lms"]):
        return ("nothing to compare: include_released is false and rms, extra_rms and lms are empty. Fix: set "
                "include_released=true, or list rms, extra_rms or lms")
    return None
