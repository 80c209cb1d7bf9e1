"""rmnb.builder.status writes the status page from executed notebooks' papermill metadata."""

import importlib.metadata
import platform

import nbformat

from rmnb.builder.status import write_status_page


def _fake_executed(path, *, title, params, start, duration, exception=None, rmnb=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nText."), nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["papermill"] = {
        "start_time": start, "end_time": start.replace(":00.", ":09."), "duration": duration,
        "parameters": params, "exception": exception, "environment_variables": {}, "version": "2.7.0",
        "input_path": "-", "output_path": str(path),
    }
    if rmnb is not None:
        nb.metadata["rmnb"] = rmnb
    nbformat.write(nb, path)


def test_status_page(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _fake_executed(chapters / "02_moral_foundations.ipynb", title="2 · Moral foundations", params={},
                   start="2026-11-25T10:05:00.000001", duration=3.21, exception=True)
    _fake_executed(chapters / "01_big_two.ipynb", title="1 · Big Two", start="2026-11-25T10:00:00.5",
                   params={"n_permutations": 999, "scores_dir": "a|b"}, duration=7.456,
                   rmnb={"device": "cpu", "host": "builder", "python": "3.11.7"})
    (chapters / "notes.md").write_text("not a notebook")

    out = write_status_page(chapters, tmp_path / "book" / "status.md")
    assert out == tmp_path / "book" / "status.md"
    text = out.read_text()
    lines = text.splitlines()

    assert lines[:2] == ["(status)=", "# Status"]
    assert "| Chapter | Ran at (UTC) | Duration (s) | Success | Parameters | Ran on |" in lines
    rows = [line for line in lines if line.startswith("| ") and "(`0" in line]
    assert [r.split("`")[1] for r in rows] == ["01_big_two", "02_moral_foundations"]
    big2, mfd = rows
    assert big2.startswith("| 1 · Big Two (`01_big_two`) | 2026-11-25 10:00 | 7.5 | yes |")
    assert big2.endswith("| cpu, builder, Python 3.11.7 |")
    assert "`n_permutations=999`, `scores_dir='a\\|b'`" in big2  # pipe escaped for the table
    assert mfd.startswith("| 2 · Moral foundations (`02_moral_foundations`) | 2026-11-25 10:05 | 3.2 | **no** |")
    assert "| defaults | - |" in mfd
    assert "notes" not in text and "All chapters ran on" not in text

    assert f"Python: {platform.python_version()}" in text
    assert "Device: " in text and ("cuda: " in text or "cpu: " in text)
    assert "{dropdown} Installed packages" in text
    assert f"nbformat=={importlib.metadata.version('nbformat')}" in text
    block = text.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    names = [line.split("==")[0].lower() for line in block]
    assert names == sorted(names) and len(names) > 10


def test_status_page_one_machine(tmp_path):
    where = {"device": "NVIDIA H100", "host": "gpu1", "python": "3.11.7"}
    for stem in ("01_a", "02_b"):
        _fake_executed(tmp_path / f"{stem}.ipynb", title=stem, params={}, start="2026-01-01T00:00:00.1",
                       duration=1.0, rmnb=where)
    text = write_status_page(tmp_path, tmp_path / "status.md").read_text()
    assert "| Chapter | Ran at (UTC) | Duration (s) | Success | Parameters |\n" in text
    assert "All chapters ran on: NVIDIA H100, gpu1, Python 3.11.7." in text


def test_status_page_without_chapters(tmp_path):
    text = write_status_page(tmp_path, tmp_path / "status.md").read_text()
    assert "No executed chapters" in text and "(status)=" in text
