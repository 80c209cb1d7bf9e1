"""Write the book's status page from the executed chapters' papermill metadata.

With ``execute_notebooks: "off"`` myst-nb has no execution table to show, so ``rmnb`` builds this page
itself: per chapter, when it ran, how long it took, whether it succeeded and with which parameters
(``metadata.papermill``, plus ``metadata.rmnb`` where the runner recorded the device); then the build
environment and the installed packages. No network is used.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

from rmnb.base.device import describe_device
from rmnb.base.provenance import installed_distributions
from rmnb.builder.fragments import write_page_fragments
from rmnb.seminar.sessions import write_seminar
from rmnb.seminar.timings import write_timing_fragment


def _when(stamp: str | None) -> str:
    if not stamp:
        return "-"
    try:  # papermill writes naive UTC ISO stamps
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(stamp)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _title(nb: dict, default: str) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            for line in src if isinstance(src, list) else src.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def _where(extra: dict) -> str:
    parts = [str(extra[k]) for k in ("device", "host") if extra.get(k)]
    if extra.get("python"):
        parts.append(f"Python {extra['python']}")
    return ", ".join(parts) or "-"


def _row(path: Path) -> list[str]:
    """Cells: chapter, ran at, duration, success, parameters, ran on."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata", {})
    pm, extra = meta.get("papermill") or {}, meta.get("rmnb") or {}
    duration = pm.get("duration")
    ok = "yes" if pm.get("end_time") and not pm.get("exception") else "**no**"
    params = ", ".join(f"`{_cell(f'{k}={v!r}')}`" for k, v in (pm.get("parameters") or {}).items())
    return [f"{_cell(_title(nb, path.stem))} (`{path.stem}`)", _when(pm.get("start_time")),
            f"{duration:.1f}" if isinstance(duration, (int, float)) else "-", ok, params or "defaults",
            _cell(_where(extra))]




def write_status_page(chapters_dir: Path, out_md: Path) -> Path:
    """Write a MyST status page for every executed ``*.ipynb`` in ``chapters_dir`` to ``out_md``."""
    chapters_dir, out_md = Path(chapters_dir), Path(out_md)
    rows = [_row(p) for p in sorted(chapters_dir.glob("*.ipynb"))]
    pkgs = installed_distributions()
    lines = [
        "(status)=", "# Status", "",
        "How and where the chapters on this site were last executed, read from the metadata that",
        "papermill stores in each executed notebook. Times are UTC. See {ref}`reproduce` to re-run a chapter.",
        "", "## Chapters", "",
    ]
    header = ["Chapter", "Ran at (UTC)", "Duration (s)", "Success", "Parameters", "Ran on"]
    hosts = sorted({r[-1] for r in rows})
    if len(hosts) == 1:  # one machine ran them all: say it once, below the table
        header, rows = header[:-1], [r[:-1] for r in rows]
    if rows:
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        if len(hosts) == 1 and hosts[0] != "-":
            lines += ["", f"All chapters ran on: {hosts[0]}."]
    else:
        lines += [f"No executed chapters were found in `{chapters_dir.name}/`."]
    lines += [
        "", "## Build environment", "",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- Platform: {platform.platform()}",
        f"- Device: {describe_device('auto')}",
        f"- Page written: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC",
        "", f"````{{dropdown}} Installed packages ({len(pkgs)})", "```text", *pkgs, "```", "````", "",
    ]
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text("\n".join(lines), encoding="utf-8")
    write_timing_fragment(chapters_dir)  # the teacher's guide's run-time tables (rmnb.seminar.timings)
    write_seminar(chapters_dir)  # the guide's sessions, the slides and the quizzes (rmnb.seminar.sessions)
    write_page_fragments(chapters_dir)  # the landing page's findings and launch table, how-to-cite's BibTeX
    return out_md
