"""Packaging and structure guards: the wheel carries the package data; the layers hold; modules stay small."""

import ast
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT

SRC = ROOT / "src" / "rmnb"
LAYERS = ("base", "data", "models", "inference", "training", "analysis", "charts", "book", "seminar", "builder")


@pytest.mark.slow
def test_wheel_holds_the_data_registry(tmp_path):
    """A non-editable install reads the data registry from the package: the wheel must contain it (and every
    subpackage). Built without isolation from the venv's setuptools, so no network is needed."""
    project = tmp_path / "project"  # a copy, so that setuptools' build/ folder never lands in the checkout
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, project / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(project)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("rmnb-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "rmnb/data/data_registry.txt" in names
    assert "rmnb/models/weights_only.txt" in names
    for layer in LAYERS:
        assert f"rmnb/{layer}/__init__.py" in names, layer
    registry = zipfile.ZipFile(wheel).read("rmnb/data/data_registry.txt").decode()
    assert registry == (SRC / "data" / "data_registry.txt").read_text()


def test_package_map_lists_every_subpackage():
    """The package map in rmnb/__init__.py and the README's layout table name every subpackage."""
    import rmnb

    found = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())
    assert found == sorted(LAYERS)
    readme = (ROOT / "README.md").read_text()
    for layer in found:
        assert f"``rmnb.{layer}``" in rmnb.__doc__, layer
        assert f"`rmnb.{layer}`" in readme, layer


def test_each_subpackage_map_lists_exactly_its_modules():
    """Each subpackage's docstring lists its modules as ``- ``name``  what it holds`` lines: every module, and no
    module that is gone."""
    import importlib
    import re

    for layer in LAYERS:
        doc = importlib.import_module(f"rmnb.{layer}").__doc__ or ""
        listed = re.findall(r"^- ``(\w+)``", doc, flags=re.MULTILINE)
        modules = sorted(p.stem for p in (SRC / layer).glob("*.py") if p.stem != "__init__")
        assert sorted(listed) == modules, (f"rmnb.{layer}'s map: missing {sorted(set(modules) - set(listed))}, "
                                           f"gone {sorted(set(listed) - set(modules))}")


def _lint_chapters():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_chapters", ROOT / "tools" / "lint_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_chapter_lint_reports_at_the_chapters_line_numbers(tmp_path):
    """`make lint` runs ruff on the chapters' code through jupytext (tools/lint_chapters.py): a problem is reported
    at the chapter's line; an exercise's solution may import below the student's lines; the chapters are clean."""
    from conftest import MYST_HEADER

    chapter = tmp_path / "09_lint.md"
    chapter.write_text(MYST_HEADER + "\n# Lint\n\n```{code-cell} ipython3\n:tags: [parameters]\n\nn = 1\n```\n\n"
                       "Prose.\n\n```{code-cell} ipython3\nimport os\nimport json\n\nprint(json.dumps(n))\n```\n\n"
                       "```{code-cell} ipython3\n:tags: [exercise]\n\nanswer = None\n# --- solution ---\n"
                       "import math\n\nanswer = math.pi\n```\n")
    lines = chapter.read_text().splitlines()
    found = _lint_chapters().lint([chapter])
    assert [f.split(": ", 1)[1].split(" ", 1)[0] for f in found] == ["I001", "F401"], found
    line = int(found[1].split(":")[1])
    assert lines[line - 1] == "import os" and "`os` imported but unused" in found[1]
    assert _lint_chapters().lint(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))) == []


def test_modules_stay_small_or_say_why():
    """No module over about 400 lines without a reason stated in its docstring ("Long because ...")."""
    long = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 420 and "Long because" not in text.split('"""')[1]:
            long.append(f"{path.relative_to(SRC)} ({text.count(chr(10))} lines)")
    assert not long, f"modules over ~400 lines without a stated reason: {long}"


def _module_imports() -> dict[str, set[str]]:
    """``{module: rmnb modules it imports}``, read with ``ast`` (function-level imports included)."""
    modules = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rmnb"):
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
                deps |= {t for t in targets if t in modules}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
        graph[name] = deps - {name}
    return graph


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it back (within a layer too, which
    the import-linter layers contract does not see). Package ``__init__`` files count as their package."""
    graph = _module_imports()
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], f"import cycles: {cycles}"


def test_checkout_paths_survive_the_subpackage_depth(tmp_path, monkeypatch):
    """Paths derived from a module's own location point at the checkout, whatever subpackage the module is in: a
    book copied elsewhere (RMNB_ROOT without data/) still finds the project's data, and the git commit is read."""
    from rmnb.base.paths import checkout_root
    from rmnb.base.provenance import git_sha
    from rmnb.training.sft import question_set

    assert checkout_root() == ROOT
    assert git_sha() is not None
    monkeypatch.setenv("RMNB_ROOT", str(tmp_path))
    questions, answers = question_set()
    assert questions and answers


def test_tests_run_torch_on_one_thread():
    """conftest's autouse fixture holds in every test module (a lint autofix once removed its imports)."""
    import torch

    assert torch.get_num_threads() == 1


# Packages whose version changes the numbers or how adapters load: exact pins in pyproject.toml.
EXACT = ("torch", "transformers", "tokenizers", "peft", "trl", "datasets", "accelerate")


def _pyproject_dependencies() -> dict[str, str]:
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower(): d for d in deps}


def _constraints() -> dict[str, str]:
    lines = (ln.strip() for ln in (ROOT / "constraints.txt").read_text().splitlines())
    return {ln.split("==")[0].lower(): ln.split("==")[1] for ln in lines if ln and not ln.startswith("#")}


def test_pins_exact_where_numbers_change_and_constraints_agree():
    """pyproject pins the number-changing packages exactly; constraints.txt (what make installs with) holds
    the same versions, pins the weights-only packages as their one home does, and respects altair's range."""
    from rmnb.models import gguf

    deps, constraints = _pyproject_dependencies(), _constraints()
    for name in EXACT:
        assert name in deps and "==" in deps[name], f"{name} is not pinned exactly in pyproject.toml"
    for name, spec in deps.items():
        if "==" in spec:
            assert constraints.get(name) == spec.split("==")[1].split()[0], f"constraints.txt disagrees on {name}"
    for req in gguf.weights_only_requirements():
        name, version = req.split("==")
        assert constraints.get(name.lower()) == version, f"constraints.txt disagrees with weights_only.txt on {name}"
    assert deps["altair"].replace(" ", "") == "altair>=6,<7" and constraints["altair"].startswith("6.")
