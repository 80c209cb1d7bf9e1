"""Candidate responses and how they are placed in the conversation.

Two kinds of :class:`Responses`:

- **tokens**: vocabulary entries by id. The id is inserted as the assistant turn *exactly*: no decode ->
  re-encode round trip. Each keeps its id, raw token string (``convert_ids_to_tokens``) and decoded text.
- **strings**: words or phrases (the Big Two nouns, MFD2 terms, a file), placed in the assistant turn by the
  chat template and tokenized as the whole conversation is.

:class:`Conversation` turns a prompt plus candidates into an :class:`Encoded` batch: one shared ``prefix``
(everything before the response, run once) and one ``block`` per candidate (its own tokens plus the template's
closing tokens). Prefix + block is always exactly the full token sequence the model would see.

BOS (``Conversation(bos=...)``):

- ``"single"`` (default): templated text is tokenized with ``add_special_tokens=False`` (the template writes its
  own BOS); when the template writes none but the tokenizer normally adds one, exactly one BOS is prepended.
  Never two.
- ``"authors"``: the FAccT authors' text path (``reward_model_support.py``,
  ``get_reward_scores_from_response_token_ids`` in ``summerfieldlab/Christian_etal_2025_FAccT``): each vocabulary
  id is decoded to text (``tokenizer.decode([id])``), the conversation is rendered by
  ``apply_chat_template(..., tokenize=False)``, and that text is tokenized with the tokenizer's default
  ``add_special_tokens=True`` and ``truncation=True``. The rendered text of Gemma and Llama 3 templates already
  starts with the BOS token, so those tokenizers read **two** BOS tokens; a tokenizer that adds no BOS gets the
  same ids as ``"single"`` (for string responses). The released §2 scores were probably made this way: an
  inference from the FAccT code, since the ICLR paper's §2 scoring code is not released. Padding does not change
  the scores (each row is pooled at its last real token); :func:`rmnb.inference.reward.score_texts` is the
  authors' padded batch path itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from rmnb.base.errors import RmnbError
from rmnb.data import lexicons

BOS_MODES = ("single", "authors")  # see the module docstring
SENTINEL = "\ue000RMNB-RESPONSE\ue001"  # private-use characters: survives `trim` and never occurs in real text


@dataclass(frozen=True)
class Responses:
    """An ordered set of candidate responses."""

    name: str                                # "vocab", "big-two", "mfd2", a file stem, ...
    kind: str                                # "tokens" or "strings"
    text: tuple[str, ...]                    # decoded token text, or the strings themselves
    token_ids: tuple[int, ...] | None = None  # tokens only
    tokens: tuple[str, ...] | None = None    # tokens only: raw token strings

    def __post_init__(self):
        if self.kind not in ("tokens", "strings"):
            raise RmnbError(f"Responses.kind must be 'tokens' or 'strings', not {self.kind!r}")
        if not self.text:
            raise RmnbError(f"The response set {self.name!r} is empty.")

    def __len__(self) -> int:
        return len(self.text)

    def frame(self) -> pd.DataFrame:
        """``response``, ``token_id`` (nullable), ``token`` (raw token string, nullable)."""
        n = len(self)
        return pd.DataFrame({
            "response": list(self.text),
            "token_id": pd.array(list(self.token_ids) if self.token_ids else [None] * n, dtype="Int64"),
            "token": pd.array(list(self.tokens) if self.tokens else [None] * n, dtype="string"),
        })

    def subset(self, index) -> "Responses":
        """The responses at positions ``index`` (a slice or a list of positions)."""
        pick = (lambda seq: tuple(seq[index])) if isinstance(index, slice) else \
               (lambda seq: tuple(seq[i] for i in index))
        return Responses(self.name, self.kind, pick(self.text),
                         pick(self.token_ids) if self.token_ids is not None else None,
                         pick(self.tokens) if self.tokens is not None else None)

    def fingerprint(self) -> str:
        """sha256 of the kind, texts and ids: part of a results store's content key."""
        payload = json.dumps([self.kind, list(self.text), list(self.token_ids or ())], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


def vocabulary(tokenizer, ids=None, name: str = "vocab") -> Responses:
    """Every vocabulary token (or the given ids), sorted by id as the tokenizer lists them."""
    ids = list(range(len(tokenizer))) if ids is None else [int(i) for i in ids]
    if not ids:
        raise RmnbError("No token ids were given.")
    raw = tokenizer.convert_ids_to_tokens(ids)
    text = [tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False) for i in ids]
    return Responses(name, "tokens", tuple(text), tuple(ids), tuple("" if r is None else str(r) for r in raw))


def strings(items, name: str = "strings") -> Responses:
    """Words or phrases as responses (kept in order; empty strings are refused)."""
    items = [str(s) for s in items]
    if not items:
        raise RmnbError(f"The response list {name!r} is empty.")
    if any(not s for s in items):
        raise RmnbError(f"The response list {name!r} contains an empty string.")
    return Responses(name, "strings", tuple(items))


def read_strings_file(path: str | Path) -> list[str]:
    """One string per line (.txt), a column ``term``/``response``/``word`` (.csv/.tsv/.parquet), or a YAML list."""
    path = Path(path)
    if not path.is_file():
        raise RmnbError(f"Response file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".parquet"):
        frame = (pd.read_parquet(path) if suffix == ".parquet"
                 else pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", keep_default_na=False))
        for column in ("term", "response", "word", "DicTerm"):
            if column in frame.columns:
                return [str(s) for s in frame[column]]
        return [str(s) for s in frame.iloc[:, 0]]
    if suffix in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text())
        return [str(s) for s in (data.values() if isinstance(data, dict) else data)]
    return [line.rstrip("\n").rstrip("\r") for line in path.read_text().splitlines() if line.strip()]


def load_responses(name_or_path: str, tokenizer=None) -> Responses:
    """``"vocab"`` (needs the tokenizer), ``"big-two"`` (263 nouns), ``"mfd2"`` (2,040 terms) or a file."""
    key = name_or_path.lower().replace("_", "-")
    if key in ("vocab", "vocabulary"):
        if tokenizer is None:
            raise RmnbError("The 'vocab' responses need the model's tokenizer.")
        return vocabulary(tokenizer)
    if key in ("big-two", "big2", "bigtwo"):
        return strings(lexicons.big_two_nouns()["term"], name="big-two")
    if key in ("mfd2", "mfd-2", "mfd"):
        return strings(lexicons.mfd2_terms()["term"], name="mfd2")
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return strings(read_strings_file(path), name=path.stem)
    raise RmnbError(f"Unknown responses {name_or_path!r}: use vocab, big-two, mfd2 or a path to a file.")


# ---------------------------------------------------------------------------------------------------------------
# Templating


@dataclass
class Encoded:
    """One prompt's candidates as token ids: ``prefix + blocks[i]`` is candidate i's full sequence.

    ``span[i] = (start, end)``: where the response's own tokens lie inside ``blocks[i]`` (the rest of the block
    is the template's closing tokens, or, for strings whose first token merges with the prefix, the part of the
    prefix that re-tokenized differently).
    """

    prefix: list[int]
    blocks: list[list[int]]
    span: list[tuple[int, int]]

    def full(self, i: int) -> list[int]:
        return self.prefix + self.blocks[i]


def common_prefix_len(a, b) -> int:
    """How many leading tokens two id sequences share."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class Conversation:
    """How a tokenizer turns (prompt, response) into token ids.

    ``mode="chat"``: user turn = prompt, assistant turn = response, via the chat template (reward models, and
    log-probs of instruct models). ``mode="raw"``: the bare prompt tokenized with the tokenizer's default special
    tokens (log-probs of pretrained models, as in the paper's §3a); string responses follow ``raw_separator``.
    ``generation_prompt=True`` renders the prefix as the template's generation prompt (log-probs) instead of the
    text before the assistant content (reward scoring); for standard templates both are the same.
    ``end_of_turn``: keep the template's closing tokens after the response (reward models need them).
    """

    def __init__(self, tokenizer, *, mode: str = "chat", system_prompt: str | None = None,
                 generation_prompt: bool = False, end_of_turn: bool = True, raw_separator: str = " ",
                 template_kwargs: dict | None = None, bos: str = "single"):
        if mode not in ("chat", "raw"):
            raise RmnbError(f"Conversation mode must be 'chat' or 'raw', not {mode!r}")
        if bos not in BOS_MODES:
            raise RmnbError(f"Conversation bos must be one of {', '.join(BOS_MODES)}, not {bos!r} "
                            "('single': one BOS; 'authors': the FAccT authors' text path, two BOS for Gemma/Llama).")
        if mode == "chat" and not getattr(tokenizer, "chat_template", None):
            name = getattr(tokenizer, "name_or_path", "") or "this tokenizer"
            raise RmnbError(f"{name!r} has no chat template, so a conversation cannot be built. Fix: pass an "
                            "explicit template (chat_template=..., CLI: --chat-template FILE), register one in "
                            "the model's registry entry, or score log-probs of the raw prompt (mode='raw').")
        self.tokenizer = tokenizer
        self.mode = mode
        self.system_prompt = system_prompt
        self.generation_prompt = generation_prompt
        self.end_of_turn = end_of_turn
        self.raw_separator = raw_separator
        self.template_kwargs = dict(template_kwargs or {})
        self.bos = bos
        bos_id = getattr(tokenizer, "bos_token_id", None)
        probe = tokenizer("a").input_ids
        self._bos = bos_id if bos_id is not None and probe and probe[0] == bos_id else None
        self._content_verbatim = None

    # -- policy, recorded in results ---------------------------------------------------------------------------
    def describe(self) -> dict:
        tpl = getattr(self.tokenizer, "chat_template", None) or ""
        out = {"mode": self.mode, "system_prompt": self.system_prompt, "generation_prompt": self.generation_prompt,
               "end_of_turn": self.end_of_turn, "raw_separator": self.raw_separator if self.mode == "raw" else None,
               "template_sha256": hashlib.sha256(tpl.encode()).hexdigest() if self.mode == "chat" else None}
        if self._authors:  # recorded only when not the default, so existing results keep their content keys
            out["bos"] = self.bos
        return out

    @property
    def _authors(self) -> bool:
        return self.bos == "authors" and self.mode == "chat"

    # -- text ---------------------------------------------------------------------------------------------------
    def _messages(self, prompt: str, response: str | None):
        msgs = [] if self.system_prompt is None else [{"role": "system", "content": self.system_prompt}]
        msgs.append({"role": "user", "content": prompt})
        if response is not None:
            msgs.append({"role": "assistant", "content": response})
        return msgs

    def _render(self, prompt: str, response: str | None, generation: bool = False) -> str:
        return self.tokenizer.apply_chat_template(self._messages(prompt, response), tokenize=False,
                                                  add_generation_prompt=generation, **self.template_kwargs)

    def split_text(self, prompt: str) -> tuple[str, str]:
        """(text before the response, text after it) as the template renders an assistant turn."""
        if not prompt:
            raise RmnbError("A prompt is empty.")
        if self.mode == "raw":
            return prompt, ""
        full = self._render(prompt, SENTINEL)
        if full.count(SENTINEL) != 1:
            raise RmnbError("The chat template does not render the assistant's content verbatim exactly once; "
                            "rmnb cannot locate the response in it. Pass a simpler template.")
        before, after = full.split(SENTINEL)
        if self.generation_prompt:
            before = self._render(prompt, None, generation=True)
        return before, after

    def text(self, prompt: str, response: str, split: tuple[str, str] | None = None) -> str:
        """The full templated text of one string response (``split``: :meth:`split_text`, if already known)."""
        if self.mode == "raw":
            return prompt + self.raw_separator + response
        before, after = split or self.split_text(prompt)
        if self._verbatim(prompt):
            return before + response + (after if self.end_of_turn else "")
        full = self._render(prompt, response)
        if not self.end_of_turn and after and full.endswith(after):
            full = full[: len(full) - len(after)]
        return full

    def _verbatim(self, prompt: str) -> bool:
        """Whether the template inserts the content unchanged (then concatenation equals rendering)."""
        if self._content_verbatim is None:
            probe = "  x \n"
            self._content_verbatim = (self._render(prompt, probe)
                                      == self._render(prompt, SENTINEL).replace(SENTINEL, probe))
        return self._content_verbatim

    # -- ids ----------------------------------------------------------------------------------------------------
    def encode_text(self, text: str) -> list[int]:
        """Token ids of templated text: no added special tokens, plus one BOS when the template wrote none."""
        if self.mode == "raw":
            return list(self.tokenizer(text).input_ids)
        if self._authors:
            return list(self.tokenizer(text, truncation=True).input_ids)
        ids = list(self.tokenizer(text, add_special_tokens=False).input_ids)
        if self._bos is not None and (not ids or ids[0] != self._bos):
            ids.insert(0, self._bos)
        return ids

    def prefix_ids(self, prompt: str) -> list[int]:
        return self.encode_text(self.split_text(prompt)[0])

    def suffix_ids(self, prompt: str) -> list[int]:
        """The template's closing tokens after the response (empty in raw mode or without ``end_of_turn``)."""
        after = self.split_text(prompt)[1]
        if not after or not self.end_of_turn:
            return []
        return list(self.tokenizer(after, add_special_tokens=False).input_ids)

    def encode_tokens(self, prompt: str, token_ids) -> Encoded:
        """Vocabulary tokens inserted by id: block = [token id] + closing tokens. With ``bos="authors"``: each id
        decoded to text and placed as a string (the authors' decode -> re-encode round trip)."""
        ids = [int(t) for t in token_ids]
        if self._authors:
            return self.encode_strings(prompt, [self.tokenizer.decode([t]) for t in ids])
        prefix, suffix = self.prefix_ids(prompt), self.suffix_ids(prompt)
        return Encoded(prefix, [[t, *suffix] for t in ids], [(0, 1)] * len(ids))

    def encode_strings(self, prompt: str, items) -> Encoded:
        """Strings placed by the template; the whole text is tokenized as one sequence.

        The shared prefix is the longest run of prefix tokens that every candidate's tokenization starts with
        (normally the whole templated prefix), so prefix + block is exactly the full tokenization.
        """
        items = list(items)
        prefix = self.prefix_ids(prompt)
        suffix = self.suffix_ids(prompt)
        split = self.split_text(prompt)
        texts = [self.text(prompt, s, split) for s in items]
        if self.mode == "raw":
            fulls = [list(x) for x in self.tokenizer(texts).input_ids]
        elif self._authors:
            fulls = [list(x) for x in self.tokenizer(texts, truncation=True).input_ids]
        else:
            fulls = [list(x) for x in self.tokenizer(texts, add_special_tokens=False).input_ids]
            if self._bos is not None:
                fulls = [x if x and x[0] == self._bos else [self._bos, *x] for x in fulls]
        keep = min(common_prefix_len(prefix, f) for f in fulls)
        keep = min(keep, min(len(f) for f in fulls) - 1)  # every block needs at least one token
        blocks, spans = [], []
        for f in fulls:
            end = len(f) - len(suffix) if suffix and f[-len(suffix):] == suffix else len(f)
            start = common_prefix_len(prefix, f)
            blocks.append(f[keep:])
            spans.append((start - keep, max(end, start + 1) - keep))
        return Encoded(prefix[:keep], blocks, spans)

    def encode(self, prompt: str, responses: Responses) -> Encoded:
        if responses.kind == "tokens":
            return self.encode_tokens(prompt, responses.token_ids)
        return self.encode_strings(prompt, responses.text)
