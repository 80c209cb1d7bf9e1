"""Display names and colours, in one place (data ids stay machine-friendly elsewhere)."""

FAMILY_COLOURS = {"Gemma": "#DB4437", "Llama": "#0064E0", "Qwen": "#7C3AED", "SmolLM": "#F59E0B", "Other": "#6B7280"}
CATEGORY_COLOURS = {"Agency": "#3CB371", "Communion": "#FFCE1B"}
FRAMING_TITLES = {"positive": "Positive prompts (best / greatest / most good)",
                  "negative": "Negative prompts (worst / most bad / most terrible)"}



def visible_spaces(text: str) -> str:
    """Show leading/trailing spaces of a token as '␣' and newlines as '⏎'."""
    return text.replace(" ", "␣").replace("\n", "⏎")


def shown(text: str) -> str:
    """A token as printed in tables and charts: spaces as ``␣``, newlines as ``⏎``, tabs as ``⇥`` and other
    control characters as ``\\xNN`` escapes (so that every string renders and survives SVG export)."""
    out = visible_spaces(str(text)).replace("\t", "⇥")
    return "".join(ch if ch.isprintable() or ch in "␣⏎⇥" else f"\\x{ord(ch):02x}" for ch in out)
