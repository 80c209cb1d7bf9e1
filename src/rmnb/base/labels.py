"""Display names and colours, in one place (data ids stay machine-friendly elsewhere)."""

import zlib

# One colour per base family, the same in every chart of the book (the paper's Gemma red and Llama blue).
FAMILY_COLOURS = {"Gemma": "#DB4437", "Llama": "#0064E0", "Qwen": "#7C3AED", "SmolLM": "#F59E0B", "Other": "#6B7280"}
# For a family without a colour above (a model added with --model): one of these, picked by the family's name.
EXTRA_FAMILY_COLOURS = ("#0D9488", "#DB2777", "#92400E", "#65A30D", "#0891B2", "#4338CA")
CATEGORY_COLOURS = {"Agency": "#3CB371", "Communion": "#FFCE1B"}
WORD_COLOURS = {"love": "#D62728", "freedom": "#1F77B4"}  # the paper's Figure 3: Love red, Freedom blue
FRAMING_TITLES = {"positive": "Positive prompts (best / greatest / most good)",
                  "negative": "Negative prompts (worst / most bad / most terrible)"}


def family_colour(family: str) -> str:
    """The colour of a base family: :data:`FAMILY_COLOURS`, else one of :data:`EXTRA_FAMILY_COLOURS` chosen by the
    family's name, so that a family has the same colour on every page and in every run."""
    if family in FAMILY_COLOURS:
        return FAMILY_COLOURS[family]
    return EXTRA_FAMILY_COLOURS[zlib.crc32(str(family).encode()) % len(EXTRA_FAMILY_COLOURS)]


def visible_spaces(text: str) -> str:
    """Show leading/trailing spaces of a token as '␣' and newlines as '⏎'."""
    return text.replace(" ", "␣").replace("\n", "⏎")


def shown(text: str) -> str:
    """A token as printed in tables and charts: spaces as ``␣``, newlines as ``⏎``, tabs as ``⇥`` and other
    control characters as ``\\xNN`` escapes (so that every string renders and survives SVG export)."""
    out = visible_spaces(str(text)).replace("\t", "⇥")
    return "".join(ch if ch.isprintable() or ch in "␣⏎⇥" else f"\\x{ord(ch):02x}" for ch in out)
