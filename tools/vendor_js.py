"""Vendor the JavaScript the book needs offline: vega/vega-lite/vega-embed and MathJax 3.

Usage (from the repository root, with the project venv and npm available)::

    .venv/bin/python tools/vendor_js.py

It reads the versions altair wants from ``altair.vegalite.v6.display``, runs ``npm pack`` for
``vega``, ``vega-lite``, ``vega-embed`` at those versions and for ``mathjax@3`` in a temporary folder,
then writes

* ``book/_static/vega-offline.js``: the three UMD min builds concatenated in dependency order
  (source-map comments removed), followed by a ``window.VEGA_DEBUG`` shim that tells altair's loader
  the libraries are already on the page;
* ``book/_static/mathjax/tex-mml-chtml.js`` plus ``output/chtml/fonts/woff-v2/`` and
  ``input/tex/extensions/`` beside it (MathJax's own layout relative to the script, which is where it
  looks for its fonts and for the TeX extensions it autoloads).

The outputs are committed, so building the book needs no npm. Re-run when altair changes;
``tests/test_vendor_js.py`` checks that the shim matches altair's constants.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"
MATHJAX_SPEC = "mathjax@3"
# Folders copied next to MathJax's script, at its own relative layout: the CHTML fonts, and the TeX
# extensions that MathJax autoloads on first use of a macro such as \boldsymbol, \color or \cancel.
MATHJAX_DIRS = [Path("output/chtml/fonts/woff-v2"), Path("input/tex/extensions")]

# (npm package, UMD min build inside the package), in dependency order.
VEGA_BUILDS = [
    ("vega", "build/vega.min.js"),
    ("vega-lite", "build/vega-lite.min.js"),
    ("vega-embed", "build/vega-embed.min.js"),
]

SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)


def altair_versions() -> dict[str, str]:
    """The vega versions altair's HTML renderer asks for, keyed by npm package name."""
    from altair.vegalite.v6 import display

    return {
        "vega": display.VEGA_VERSION,
        "vega-lite": display.VEGALITE_VERSION,
        "vega-embed": display.VEGAEMBED_VERSION,
    }


def npm_pack(spec: str, workdir: Path) -> Path:
    """``npm pack`` one package spec into ``workdir``, unpack it, return the package folder."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        cwd=workdir, check=True, capture_output=True, text=True,
    ).stdout
    info = json.loads(out)[0]
    tarball = workdir / info["filename"]
    dest = workdir / f"{info['name'].replace('/', '_')}-{info['version']}"
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuse unsafe members
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)
    print(f"  {spec} -> {info['name']}@{info['version']}")
    return dest / "package"


def shim(versions: dict[str, str]) -> str:
    """The ``VEGA_DEBUG`` assignment altair's loader checks before fetching a library."""
    values = {
        "vega_version": versions["vega"],
        "vegalite_version": versions["vega-lite"],
        "vegaembed_version": versions["vega-embed"],
    }
    return (
        "window.VEGA_DEBUG = Object.assign(window.VEGA_DEBUG || {}, "
        + json.dumps(values)
        + ");\n"
    )


def build_vega(workdir: Path, versions: dict[str, str]) -> str:
    parts = []
    for name, build in VEGA_BUILDS:
        pkg = npm_pack(f"{name}@{versions[name]}", workdir)
        meta = json.loads((pkg / "package.json").read_text())
        code = SOURCE_MAP.sub("", (pkg / build).read_text(encoding="utf-8")).rstrip()
        parts.append(f"/* {name}@{meta['version']} ({build}) */\n{code}\n;\n")
    header = (
        "/* Vendored by tools/vendor_js.py for offline altair charts; do not edit by hand. */\n"
    )
    return header + "".join(parts) + shim(versions)


def vendor_mathjax(workdir: Path, static: Path) -> None:
    pkg = npm_pack(MATHJAX_SPEC, workdir)
    dest = static / "mathjax"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(pkg / "es5" / "tex-mml-chtml.js", dest / "tex-mml-chtml.js")
    for rel in MATHJAX_DIRS:
        shutil.copytree(pkg / "es5" / rel, dest / rel, copy_function=shutil.copyfile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--static", type=Path, default=STATIC, help="output folder (book/_static)")
    args = parser.parse_args(argv)
    if shutil.which("npm") is None:
        print("npm is not on PATH; install Node.js to re-vendor the JavaScript.", file=sys.stderr)
        return 1
    versions = altair_versions()
    print(f"altair wants {versions}")
    args.static.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rmnb-vendor-") as tmp:
        workdir = Path(tmp)
        out = args.static / "vega-offline.js"
        out.write_text(build_vega(workdir, versions), encoding="utf-8")
        print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
        vendor_mathjax(workdir, args.static)
        print(f"wrote {args.static / 'mathjax'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
