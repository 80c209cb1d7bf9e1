"""Write the chapters as Jupyter notebooks for Colab: ``python tools/colab_notebooks.py OUT``.

Each chapter's launch menu offers Colab (``rmnb.builder.launch``), which opens ``<stem>.ipynb`` from the ``colab-branch``
of ``[tool.rmnb]`` in ``pyproject.toml``. This script writes those notebooks into OUT: the chapter source
(``notebooks/<stem>.md``, through jupytext, no outputs) with a first cell that clones the repository and installs
rmnb. The deploy workflow pushes OUT to that branch (``tools/README.md``, "Launch buttons").
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

INSTALL = """# Colab only: get the book and install rmnb (a few minutes, once per session). Skip this cell on your machine.
!git clone --depth 1 {repository} /content/rmnb
!pip install --quiet -e /content/rmnb
import sys; sys.path.insert(0, "/content/rmnb/src")  # the editable install, without restarting the kernel
%cd /content/rmnb/notebooks"""


def write_colab_notebooks(out: Path) -> list[Path]:
    """One ``<stem>.ipynb`` per chapter source in ``out``, each opening with the install cell."""
    import jupytext
    import nbformat

    from rmnb.base.provenance import repository_url

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")):
        nb = jupytext.read(source)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        cell = nbformat.v4.new_code_cell(INSTALL.format(repository=repository_url()))
        cell.metadata["tags"] = ["colab-install"]
        nb.cells.insert(0, cell)
        nbformat.validate(nb)
        nbformat.write(nb, out / f"{source.stem}.ipynb")
        written.append(out / f"{source.stem}.ipynb")
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python tools/colab_notebooks.py OUT_FOLDER", file=sys.stderr)
        sys.exit(2)
    for path in write_colab_notebooks(Path(sys.argv[1])):
        print(path)
