"""Point the book at another repository: ``python tools/set_repository_url.py https://github.com/<you>/<repo>``.

The repository URL is set in one place, ``[tool.rmnb] repository`` in ``pyproject.toml``; the book's buttons read it
at build time. Three files cannot read it and hold copies, which this script rewrites with it: ``[project.urls]``
(package metadata) and ``CITATION.cff`` (``repository-code``, ``url``: the GitHub Pages site).
``tests/test_provenance.py`` fails while a copy disagrees.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages(url: str) -> str:
    org, repo = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url).groups()
    return f"https://{org.lower()}.github.io/{repo}/"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"https://github\.com/[^/]+/[^/]+", argv[0].rstrip("/")):
        print("usage: python tools/set_repository_url.py https://github.com/<org>/<repo>", file=sys.stderr)
        return 2
    new = argv[0].rstrip("/")
    pyproject = ROOT / "pyproject.toml"
    old = re.search(r'^\[tool\.rmnb\]\nrepository = "([^"]+)"', pyproject.read_text(), re.MULTILINE)[1]
    for path in (pyproject, ROOT / "CITATION.cff"):
        text = path.read_text().replace(pages(old), pages(new)).replace(old, new)
        path.write_text(text)
        print(f"{path.name}: {old} -> {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
