"""A chapter's parameters: the literals of its single ``parameters`` cell (with their comments as help), the
profiles in ``notebooks/params/*.yaml``, and the check of names and types that runs before any work starts.
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


def parse_value(text: str):
    """A command-line value: YAML scalars and lists (``999``, ``true``, ``null``, ``[a, b]``), else the string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def validate_parameters(path: Path, values: dict) -> dict:
    """Check names and types of ``values`` against the chapter's parameters cell; return them (ints widened
    to float where the default is a float)."""
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
    return out


def default_parameters(path: Path, profile: str = "default") -> dict:
    """Values from ``notebooks/params/<profile>.yaml`` for this chapter (a mapping keyed by chapter stem)."""
    file = path.parent / "params" / f"{profile}.yaml"
    if not file.exists():
        return {}
    return dict((yaml.safe_load(file.read_text()) or {}).get(path.stem) or {})
