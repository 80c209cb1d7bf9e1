"""The recipe setting ``default_system_prompt=False``: the chat template without its default system message, used in
training and saved with the reward model (rmnb.models.templates, rmnb.training.preparation)."""

import pandas as pd
import pytest
from transformers import AutoTokenizer

from _tiny import CHATML, GEMMA_TURNS, chatml_tokenizer, gemma_tokenizer, llama_config, reward_model
from rmnb.base.errors import RmnbError
from rmnb.data.preferences import PreferenceData
from rmnb.models.templates import drop_default_system_prompt
from rmnb.training import preparation, recipe

CONVERSATION = [{"role": "user", "content": "Greatest?"}, {"role": "assistant", "content": "joy"}]
ALWAYS_SYSTEM = ("{{ '<|im_start|>system\nCutting Knowledge Date<|im_end|>\n' }}{% for message in messages %}"
                 "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}")


def _text(tok, messages=CONVERSATION):
    return tok.apply_chat_template(messages, tokenize=False)


def test_chatml_default_system_message_is_removed_and_explicit_ones_render_as_before():
    tok = chatml_tokenizer()
    with_system = [{"role": "system", "content": "Be brief."}, *CONVERSATION]
    before, before_system = _text(tok), _text(tok, with_system)
    assert "You are a tiny test model" in before
    assert drop_default_system_prompt(tok) is True
    assert _text(tok) == "<|im_start|>user\nGreatest?<|im_end|>\n<|im_start|>assistant\njoy<|im_end|>\n"
    assert before.endswith(_text(tok)) and len(_text(tok)) < len(before)
    assert _text(tok, with_system) == before_system
    assert drop_default_system_prompt(tok) is False  # already without one


def test_a_template_without_a_default_system_message_is_left_as_it_is():
    tok = gemma_tokenizer()
    assert drop_default_system_prompt(tok) is False and tok.chat_template == GEMMA_TURNS


def test_a_system_message_rmnb_cannot_remove_is_refused_with_the_fix():
    tok = chatml_tokenizer()
    tok.chat_template = ALWAYS_SYSTEM
    with pytest.raises(RmnbError, match="cannot remove.*Fix: pass a template without it"):
        drop_default_system_prompt(tok)
    assert tok.chat_template == ALWAYS_SYSTEM  # nothing changed
    tok.chat_template = None
    with pytest.raises(RmnbError, match="needs a chat template"):
        drop_default_system_prompt(tok)


def test_the_setting_keeps_earlier_run_keys_and_round_trips_through_a_manifest():
    valence = recipe.preset("valence")
    plain = recipe.preset("valence", default_system_prompt=False)
    assert "default_system_prompt" not in valence.as_dict()  # earlier runs and committed manifests keep their keys
    assert plain.as_dict()["default_system_prompt"] is False and plain.key() != valence.key()
    raw = plain.as_dict()
    raw["lora_targets"] = tuple(raw["lora_targets"])
    assert recipe.TrainSettings(**raw) == plain


def test_training_encodes_pairs_with_the_edited_template_and_saves_it(tmp_path):
    tok = chatml_tokenizer()
    model = reward_model(llama_config(tok))
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    settings = recipe.preset("valence", max_length=64)
    kept = preparation.load_base(str(tmp_path / "base"), settings, device="cpu")
    dropped = preparation.load_base(str(tmp_path / "base"), settings.with_overrides(default_system_prompt=False),
                                    device="cpu")
    assert kept.tokenizer.chat_template == CHATML and dropped.tokenizer.chat_template != CHATML
    pairs = PreferenceData("one", pd.DataFrame([dict(
        pair_id=0, n_chars=10, chosen=CONVERSATION, rejected=[CONVERSATION[0], {"role": "assistant", "content": "war"}])]))
    long, short = (preparation.encode_pairs(pairs, x.tokenizer, 64).chosen_ids[0] for x in (kept, dropped))
    assert len(short) < len(long) and long[-len(short):] == short
    dropped.tokenizer.save_pretrained(tmp_path / "rm")  # what an install saves beside the merged model
    assert AutoTokenizer.from_pretrained(tmp_path / "rm").chat_template == dropped.tokenizer.chat_template
