"""Prose integrity: no result typed into a chapter's Summary, an exercise solution or ``book/discussion.md``.

Results in prose must come from the run (myst-nb ``{glue}`` roles), so that they change when the data, the models
or the code change. This test scans those three kinds of text for numbers and fails on any number that is not an
explicit design constant of the paper (:data:`ALLOWED`) or part of a reference (section, figure, table, chapter,
year of a citation, a model's name or size). Ignored: ``{glue:...}`` roles and every other MyST role, inline code
and fenced code (commands and parameters), link targets and labels.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Design constants of the paper and the book (not results): each with why it is one.
ALLOWED = {
    "0", "1", "2", "3",  # ordinals and tiny structural counts: rank 1 = best, step 0, two families, three prompts
    "54", "27",          # the 54 prompt variants, 27 per framing
    "263",               # the 263 Big Two nouns
    "2,040", "936",      # MFD2 terms; the expanded Big Two list
    "10", "4", "6",      # the 10 RMs: 4 Gemma-based, 6 Llama-based
    "12", "21",          # the 12 base/instruct LLMs; Figure 3's 21 pairs
    "9,999",             # permutations per panel test (a parameter's default)
}

_REFERENCE = re.compile(
    r"§\s?\d+(?:\.\d+)*[a-z]?"                                   # §2, §3a, §6.5
    r"|\b(?:Figures?|Figs?\.|Tables?|Appendix|Exercises?|Sections?|[Cc]hapters?|[Ss]tep|[Cc]heckpoint|Eq\.)"
    r"\s?A?\d+[a-z]?(?:\s?(?:and|,|-|–|to)\s?A?\d+[a-z]?)*"     # Figure 3, Table A7, chapters 01 and 02
    r"|\b(?:Gemma|Llama|Qwen|SmolLM2?|Mistral|GPT)[ -]?\d+(?:\.\d+)?"  # Gemma 2, Llama 3.2, GPT-4
    r"|\b(?:ICLR|FAccT|NeurIPS|ICML|ACL|EMNLP|arXiv)\s?\d{4}"    # venue years
    r"|\bet al\.?,?\s?\(?\d{4}[a-z]?"                             # et al. 2025, et al. (2019a)
    r"|\((?:19|20)\d{2}[a-z]?\)"                                   # (2019)
)
_IGNORED = re.compile(
    r"\{[\w:.-]+\}`[^`]*`"          # MyST roles: {glue:text}`x:.2f`, {ref}`ch01`, {cite:t}`key`
    r"|`[^`\n]*`"                   # inline code
    r"|\]\([^)]*\)"                 # link targets
    r"|^\([\w-]+\)=\s*$"            # labels
    r"|https?://\S+",
    re.M,
)
# a number: not glued to a name on its left ("R-Gem-2B", "v0.2"), nor a size or name part on its right ("27B",
# "2-3B"); decimals, thousands separators, scientific notation and a "k" suffix belong to it; a sign is not kept
_NUMBER = re.compile(r"(?<![\w.])(?<!\w-)(?<!\d,)(?:\d[\d,]*(?:\.\d+)?(?:e-?\d+)?k?|\.\d+)(?![A-Za-z_\-\d]|\.\d)")


def typed_numbers(text: str) -> list[str]:
    """The numbers in ``text`` that are neither ignored, a reference nor an allowed constant."""
    text = _strip_fences(text)
    text = _IGNORED.sub(" ", text)
    text = _REFERENCE.sub(" ", text)
    out = []
    for m in _NUMBER.finditer(text):
        token = m.group(0).rstrip(",")
        if token and token not in ALLOWED:
            out.append(token)
    return out


def _strip_fences(text: str) -> str:
    """Drop fenced code blocks (``` or ~~~ fences, any length) but keep admonition bodies (``{admonition}``)."""
    lines, out, fence = text.splitlines(), [], None
    for line in lines:
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(`{3,}|~{3,})(.*)$", stripped)
            if m and not m.group(2).startswith("{admonition}"):
                fence = m.group(1)
                continue
            out.append(line)
        elif stripped == fence:
            fence = None
    return "\n".join(out)


def summary_section(text: str) -> str:
    """The ``## Summary`` section (up to the next level-2 heading)."""
    m = re.search(r"^## Summary\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def solutions(text: str) -> list[str]:
    """The bodies of the ``{admonition} Solution`` blocks (dropdown solutions of the exercises)."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(`{3,}|~{3,})\{admonition\}\s*Solution\b", lines[i].strip())
        if m:
            fence, body, i = m.group(1), [], i + 1
            while i < len(lines) and lines[i].strip() != fence:
                body.append(lines[i])
                i += 1
            out.append("\n".join(body))
        i += 1
    return out


def offending_lines(path: Path) -> list[str]:
    """``"file:line: numbers | text"`` for every scanned line holding a typed number."""
    text = path.read_text()
    if path.name == "discussion.md":
        parts = [text]
    else:
        parts = [summary_section(text), *solutions(text)]
    found = []
    for part in parts:
        if not part.strip():
            continue
        for line in _strip_fences(part).splitlines():
            numbers = typed_numbers(line)
            if numbers:
                lineno = next((n for n, full in enumerate(text.splitlines(), 1) if full == line), 0)
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {', '.join(numbers)} | {line.strip()[:100]}")
    return found


def scanned_files() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")) + [ROOT / "book" / "discussion.md"]


# --- the scanner itself: positive and negative controls on synthetic text -------------------------------------

SYNTHETIC = """
## Exercises

```{admonition} Solution
:class: dropdown
The three-way interaction is t(1064) = -5.21, so the pattern holds ({glue:text}`t_value:.2f` in your run).
```

## Summary

Ranking the 263 Big Two nouns under 54 prompts (§2, Figure 1, Table A7; Christian et al., 2026), the gap is
{glue:text}`gap:.1f` ranks; Gemma 2 and Llama 3.2 differ, and R-Gem-2B agrees with `-p n_permutations=999`.
The Llama RMs rank communion 12.5 places higher.

### What's next?

{ref}`ch02` runs the same pipeline.

## References
"""


def test_scanner_catches_typed_numbers_and_spares_glue_and_design_constants(tmp_path):
    path = tmp_path / "notebooks" / "99_synthetic.md"
    path.parent.mkdir()
    path.write_text(SYNTHETIC)
    assert typed_numbers(summary_section(SYNTHETIC)) == ["12.5"]
    assert typed_numbers(solutions(SYNTHETIC)[0]) == ["1064", "5.21"]
    # glued values, references, model names, years, inline code and design constants are not flagged
    assert typed_numbers("{glue:text}`x:.2f` in §3a, Figure 4b, Tables A8 and A9, chapter 05, (2019)") == []
    assert typed_numbers("Gemma 2 27B vs Llama 3.1 8B; S-Lla-8B-v0.2; ICLR 2026; `rmnb run 01 -p seed=7`") == []
    assert typed_numbers("263 nouns, 54 prompts, 10 RMs (4 Gemma, 6 Llama)") == []
    # negative controls: a typed count, a percentage, a p-value and a decimal are each caught
    assert typed_numbers("The gap is 17 ranks") == ["17"]
    assert typed_numbers("p < .001 and 35% of tokens, d = 0.41") == [".001", "35", "0.41"]


def test_scanner_reports_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    path = tmp_path / "notebooks" / "99_synthetic.md"
    path.parent.mkdir()
    path.write_text(SYNTHETIC)
    found = offending_lines(path)
    assert len(found) == 2
    assert found[0].startswith("notebooks/99_synthetic.md:13: 12.5 |")  # summary first, then solutions
    assert found[1].startswith("notebooks/99_synthetic.md:6: 1064, 5.21 |")


def test_scanner_finds_every_section_of_the_real_chapters():
    for path in scanned_files()[:-1]:
        text = path.read_text()
        assert summary_section(text).strip(), f"{path.name} has no ## Summary"
        assert solutions(text), f"{path.name} has no Solution dropdown"


# --- the real book --------------------------------------------------------------------------------------------

OFFENDERS = [line for path in scanned_files() for line in offending_lines(path)]


def test_no_typed_numbers_in_summaries_solutions_and_discussion():
    assert not OFFENDERS, "\n".join(OFFENDERS)
