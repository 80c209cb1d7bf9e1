"""Edits of a tokenizer's chat template that a training recipe can ask for.

:func:`drop_default_system_prompt` removes the system message some templates write when a conversation has none
(SmolLM2's ChatML template: "You are a helpful AI assistant named SmolLM, trained by Hugging Face", 19 of the 36
tokens of a one-word question and answer). The edited template is saved with the trained reward model, so every
later scoring of that RM renders conversations exactly as its training did.
"""

from __future__ import annotations

import re

from rmnb.base.errors import RmnbError

# The ChatML idiom (SmolLM2, Qwen2): ``{% if [loop.first and] messages[0]['role'] != 'system' %}...{% endif %}``.
_DEFAULT_SYSTEM_BLOCK = re.compile(
    r"\{%-?\s*if\s+(?:loop\.first\s+and\s+)?messages\[0\]\[(['\"])role\1\]\s*!=\s*(['\"])system\2\s*-?%\}"
    r"(?:(?!\{%-?\s*(?:if|endif)\b).)*\{%-?\s*endif\s*-?%\}", re.S)

_PROBE_USER, _PROBE_ANSWER, _PROBE_SYSTEM = "Q-probe", "A-probe", "S-probe"


def _render(tokenizer, template: str, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)


def drop_default_system_prompt(tokenizer) -> bool:
    """Give ``tokenizer`` its chat template without the default system message; ``True`` when one was removed,
    ``False`` when the template writes none (Gemma's turn format). Checked by rendering: a conversation with an
    explicit system message renders exactly as before, and one without renders no system turn."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise RmnbError("default_system_prompt=False needs a chat template to edit; this tokenizer has none. Fix: "
                        "give the model a template (registry entry or chat_template=...).")
    user = [{"role": "user", "content": _PROBE_USER}, {"role": "assistant", "content": _PROBE_ANSWER}]
    with_system = [{"role": "system", "content": _PROBE_SYSTEM}, *user]
    edited = _DEFAULT_SYSTEM_BLOCK.sub("", template, count=1)
    rendered = _render(tokenizer, edited, user)
    if _render(tokenizer, edited, with_system) != _render(tokenizer, template, with_system) or "system" in rendered:
        raise RmnbError("this chat template writes a default system message in a form rmnb cannot remove (only the "
                        "`{% if messages[0]['role'] != 'system' %}...{% endif %}` idiom is edited). Fix: pass a "
                        "template without it (chat_template=...), or keep default_system_prompt=True.")
    tokenizer.chat_template = edited
    return edited != template


__all__ = ["drop_default_system_prompt"]
