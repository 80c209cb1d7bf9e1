"""A chapter's parameters: the literals of its single ``parameters`` cell (with their comments as help), the
profiles in ``notebooks/params/*.yaml``, the check of names and types, and the check of values against each
chapter's rules (:data:`RULES`, :func:`check_values`) that runs before any work starts and again at the top of the
chapter.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import jupytext
import yaml

from rmnb.base.errors import RmnbError


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


@dataclass(frozen=True)
class Rule:
    """What values one parameter accepts: at least ``at_least``, one of ``choices``, or (``pair``) two different
    comma-separated items. ``why`` says what a too-small value is too few for, ``noun`` what a pair's items are,
    ``example`` a valid value to suggest (default: the minimum, or the first choice)."""

    at_least: float | None = None
    choices: tuple = ()
    pair: bool = False
    why: str = ""
    noun: str = "items"
    example: object = None
    optional: bool = False   # None is valid (= the chapter's default behaviour)

    def problem(self, value) -> str | None:
        """What is wrong with ``value``, or None when it is valid."""
        if self.optional and value is None:
            return None
        if self.at_least is not None and (value is None or value < self.at_least):
            return f"{self.why}; use at least {self.at_least}" if self.why else f"it must be at least {self.at_least}"
        if self.choices and value not in self.choices:
            return "it must be one of " + ", ".join(repr(c) for c in self.choices)
        if self.pair:
            items = [v.strip() for v in str(value).split(",") if v.strip()]
            if len(items) != 2 or items[0] == items[1]:
                return f"give exactly two different {self.noun}, comma-separated"
        return None

    def suggestion(self):
        if self.example is not None:
            return self.example
        return self.at_least if self.at_least is not None else self.choices[0] if self.choices else None


_PERMUTATIONS = Rule(at_least=99, why="too few for a permutation p-value", example=9999)
_AT_LEAST_ONE = Rule(at_least=1)
_SEED = Rule(at_least=0, why="a random seed must be a non-negative integer", example=42)

# Per chapter stem: parameter -> the values it accepts (types are checked by validate_parameters).
RULES: dict[str, dict[str, Rule]] = {
    "01_big_two": {"n_permutations": _PERMUTATIONS, "seed": _SEED},
    "02_moral_foundations": {"n_permutations": _PERMUTATIONS, "seed": _SEED},
    "04_implicit_reward": {"n_show": _AT_LEAST_ONE, "sft_steps": _AT_LEAST_ONE, "sft_batch": _AT_LEAST_ONE,
                           "sft_lora_r": _AT_LEAST_ONE, "recovery_k": _AT_LEAST_ONE,
                           "prompt_format": Rule(choices=("chat", "raw"))},
    "06_training_live": {"rms": Rule(pair=True, noun="reward models rmnb trains",
                                   example="smollm2-135m-valence-rm,gemma3-270m-valence-rm"),
                       "seeds": Rule(at_least=1, why="at least one seed per base", example=3),
                       "live_steps": Rule(at_least=1, why="the live run needs at least one optimizer step "
                                          "(live_base=None skips it)", example=12),
                       "bases": Rule(pair=True, noun="base models", example="smollm2-135m-instruct,gemma3-270m"),
                       "seed": Rule(at_least=0, why="a random seed must be a non-negative integer", example=1,
                                    optional=True)},
}


def check_values(chapter: str, values: dict) -> None:
    """Check the values of ``chapter``'s parameters (its stem, e.g. ``"01_big_two"``) against :data:`RULES`;
    names without a rule, and rules whose name is not in ``values``, are skipped, so a chapter can pass
    ``globals()``. Raises :class:`RmnbError` naming the parameter, the value, what is valid and the fix."""
    for name, rule in RULES.get(chapter, {}).items():
        if name not in values:
            continue
        problem = rule.problem(values[name])
        if problem:
            number = chapter[:2]
            raise RmnbError(f"parameter {name}={values[name]!r} of chapter {chapter}: {problem}. Fix: pass a valid "
                            f"value, e.g. `rmnb run {number} -p {name}={rule.suggestion()}`.")


def parse_value(text: str):
    """A command-line value: YAML scalars and lists (``999``, ``true``, ``null``, ``[a, b]``), else the string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def validate_parameters(path: Path, values: dict) -> dict:
    """Check names and types of ``values`` against the chapter's parameters cell, then their values
    (:func:`check_values`); return them (ints widened to float where the default is a float)."""
    params = chapter_parameters(path)
    out = {}
    for name, value in values.items():
        if name not in params:
            valid = ", ".join(f"{p.name} ({p.type_name})" for p in params.values())
            raise RmnbError(f"unknown parameter {name!r} for chapter {path.stem}. Valid parameters: {valid}.")
        default = params[name].default
        if default is None or value is None:
            out[name] = value
            continue
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            raise RmnbError(f"parameter {name!r} of chapter {path.stem} must be {expected.__name__} "
                            f"(default {default!r}); got {value!r} ({type(value).__name__}).")
        out[name] = value
    check_values(path.stem, out)
    return out


def default_parameters(path: Path, profile: str = "default") -> dict:
    """Values from ``notebooks/params/<profile>.yaml`` for this chapter (a mapping keyed by chapter stem)."""
    file = path.parent / "params" / f"{profile}.yaml"
    if not file.exists():
        return {}
    return dict((yaml.safe_load(file.read_text()) or {}).get(path.stem) or {})
