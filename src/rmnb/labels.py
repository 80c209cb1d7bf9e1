"""Display names and colours, in one place (data ids stay machine-friendly elsewhere)."""

FAMILY_COLOURS = {"Gemma": "#DB4437", "Llama": "#0064E0", "Qwen": "#7C3AED", "SmolLM": "#F59E0B", "Other": "#6B7280"}
CATEGORY_COLOURS = {"Agency": "#3CB371", "Communion": "#FFCE1B"}
FRAMING_TITLES = {"positive": "Positive prompts (best / greatest / most good)",
                  "negative": "Negative prompts (worst / most bad / most terrible)"}


def family_scale(families) -> tuple[list[str], list[str]]:
    """Domain and colour range for an altair colour scale over ``families``."""
    domain = [f for f in FAMILY_COLOURS if f in set(families)]
    return domain, [FAMILY_COLOURS[f] for f in domain]


def visible_spaces(text: str) -> str:
    """Show leading/trailing spaces of a token as '␣' and newlines as '⏎'."""
    return text.replace(" ", "␣").replace("\n", "⏎")
