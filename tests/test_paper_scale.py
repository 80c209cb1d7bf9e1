"""The "Reproducing at paper scale" page: its model table is the registry's, its memory arithmetic is right."""

from pathlib import Path

import pytest

from rmnb.builder import paper_scale
from rmnb.models.registry import PAPER_RMS

PAGE = Path(__file__).resolve().parents[1] / "book" / "paper-scale.md"


def test_memory_is_parameters_times_bytes():
    assert paper_scale.nominal_parameters("27B") == 27e9 and paper_scale.nominal_parameters("135M") == 135e6
    assert paper_scale.weights_gb("Skywork/Skywork-Reward-Gemma-2-27B") == pytest.approx(54.0)
    assert paper_scale.weights_gb("meta-llama/Llama-3.3-70B-Instruct") == pytest.approx(140.0)
    assert paper_scale.weights_gb("Ray2333/GRM-Llama3.2-3B-rewardmodel-ft") == pytest.approx(6.0)  # float16


def test_every_chapter_lists_the_papers_models():
    models = paper_scale.chapter_models()
    assert set(models) == {"00", "01", "02", "03", "04", "06", "07"}
    assert set(models["01"]) == {s.id for s in PAPER_RMS}
    assert len(models["04"]) == 11  # Table 1's pair is in Figure 3's 10 models; plus the boosted Gemma 2 2B
    table = paper_scale.model_table()
    assert table.set_index("model").loc["google/gemma-2-27b-it", "gated"]
    assert table.set_index("model").loc["nicolinho/QRM-Gemma-2-27B", "remote_code"]


def test_page_table_is_the_generated_one_and_in_the_toc():
    text = PAGE.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == paper_scale.markdown_rows()
    toc = (PAGE.parents[1] / "_toc.yml").read_text()
    assert "file: book/paper-scale" in toc


def test_page_commands_name_every_paper_rm_and_the_chapter_06_recipe():
    text = PAGE.read_text()
    for spec in PAPER_RMS:
        assert text.count(spec.id) >= 3, spec.id  # table, chapter 00 list, scoring loop (and chapter 07)
    assert ("rmnb run 06 -p hh_run=true -p \"bases=[google/gemma-2-2b-it, meta-llama/Llama-3.2-3B-Instruct]\" -p preset=paper "
            "-p data_source=skywork -p vocab_filter=paper") in text


def test_page_commands_use_valid_chapter_parameters(tmp_path, monkeypatch):
    import shlex

    from rmnb.book.parameters import parse_value, validate_parameters

    notebooks = {p.name[:2]: p for p in (PAGE.parents[1] / "notebooks").glob("0*.md")}
    commands = [line for line in PAGE.read_text().splitlines() if line.startswith("rmnb run ")]
    assert sorted({c.split()[2] for c in commands}) == ["00", "01", "02", "03", "04", "06", "07"]
    for command in commands:
        words = shlex.split(command)
        values = {}
        for flag, item in zip(words, words[1:]):
            if flag == "-p":
                name, _, value = item.partition("=")
                values[name] = parse_value(value)
        monkeypatch.chdir(tmp_path)  # the folders the page's earlier commands write (a folder must exist)
        for name in ("scores_dir", "authors_checkpoints_dir"):
            if isinstance(values.get(name), str):
                (tmp_path / values[name]).mkdir(parents=True, exist_ok=True)
        notes = []
        validate_parameters(notebooks[words[2]], values, warn=notes.append)  # raises on a wrong name or value
        assert notes == [], command  # and no parameter the command sets goes unread
