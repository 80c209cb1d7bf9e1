"""Figure A3's "authority-boosted" model: LoRA supervised fine-tuning (PEFT + TRL's ``SFTTrainer``).

The paper validates its implicit-reward metric by planting a known preference: a pretrained model is fine-tuned
to answer positively valenced questions with one of 10 Moral Foundations *authority* words, and a good metric
must then find exactly those words at the top of the base -> boosted implicit-reward ranking
(:func:`rmnb.analysis.implicit.recovery_scores`).

The recipe follows the authors' script (paper §3b): template ``"Instruction:\\n{instruction}\\n\\nResponse:\\n
{response}"``, every question paired with every answer, LoRA r = 8 (alpha and dropout at PEFT defaults) on the
attention and MLP projections, learning rate 2e-4 with 5 warm-up steps, fp32. The question set is the project's
own (``data/authority_sft/``). The trained adapter is cached under ``cache_dir("sft", <key>)``, keyed by
everything that changes it, so a re-run loads it in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir, checkout_root, project_data_dir
from rmnb.base.provenance import TRAINING_PACKAGES, package_versions, slug
from rmnb.base.tempfiles import remove_stale_temps

TEMPLATE = "Instruction:\n{instruction}\n\nResponse:\n{response}"
LORA_TARGETS = ("q_proj", "o_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj")
SFT_FORMAT = 1  # bump when the training code changes in a way that changes the adapter


def _lines(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise RmnbError(f"{path} is missing. Fix: restore data/authority_sft/ from the repository, or pass "
                        "your own question and answer files.")
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def question_set(folder: str | Path | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(questions, answers) of the authority-boost data set: ``questions.txt`` and ``answers.txt`` in
    ``folder`` (default ``data/authority_sft``), one item per line."""
    if folder is None:
        # the book's data/ folder; a book copied elsewhere (RMNB_ROOT) without data/ falls back to the checkout
        candidates = [project_data_dir() / "authority_sft",
                      checkout_root() / "data" / "authority_sft"]
        folder = next((c for c in candidates if (c / "questions.txt").is_file()), candidates[0])
    folder = Path(folder)
    return _lines(folder / "questions.txt"), _lines(folder / "answers.txt")


@dataclass(frozen=True)
class BoostSettings:
    """Everything that changes the boosted adapter (and so its cache key)."""

    base_model: str = "gemma3-270m"        # registry id, HF id or folder of the pretrained base model
    base_revision: str = ""                # the loaded model's resolved revision (filled in by :func:`boost`)
    questions: tuple[str, ...] = ()        # positively valenced questions
    answers: tuple[str, ...] = ()          # the injected words (the paper: 10 MFD2 authority words)
    template: str = TEMPLATE
    lora_r: int = 8
    max_steps: int = 50
    batch_size: int = 4                    # sequences per optimizer step (the paper: 1 x 4 accumulation steps)
    learning_rate: float = 2e-4
    warmup_steps: int = 5
    seed: int = 42
    versions: dict = field(default_factory=dict)

    def examples(self) -> list[str]:
        """Every question paired with every answer, formatted with the template (questions x answers)."""
        if not self.questions or not self.answers:
            raise RmnbError("The authority-boost data set needs at least one question and one answer.")
        return [self.template.format(instruction=q, response=a) for q in self.questions for a in self.answers]

    def key(self) -> str:
        payload = json.dumps({**asdict(self), "format": SFT_FORMAT}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]



@dataclass
class Boosted:
    """The boosted model: ``model`` is a PEFT model (use ``with model.disable_adapter():`` for the base)."""

    model: object
    settings: BoostSettings
    adapter_dir: Path
    from_cache: bool
    seconds: float
    log_history: list = field(default_factory=list)

    @property
    def losses(self) -> list[float]:
        return [float(h["loss"]) for h in self.log_history if "loss" in h]


def boost(loaded, settings: BoostSettings, refresh: bool = False) -> Boosted:
    """Fine-tune ``loaded`` (an :class:`rmnb.models.loading.LoadedModel` of the base) with LoRA, or load the cached
    adapter. The base model is converted to float32 and wrapped in place: the returned PEFT model *is* the base
    with adapters, and ``model.disable_adapter()`` gives the base model's outputs back."""
    import torch
    from peft import PeftModel

    settings = BoostSettings(**{**asdict(settings), "base_model": loaded.id, "base_revision": loaded.revision,
                                "versions": package_versions(TRAINING_PACKAGES)})
    if next(loaded.model.parameters()).dtype != torch.float32:  # the authors fine-tune and evaluate in float32
        loaded.model.to(torch.float32)
    folder = cache_dir("sft") / f"{slug(loaded.id, 60)}-{settings.key()}"
    start = time.perf_counter()
    if (folder / "adapter_config.json").exists() and not refresh:
        model = PeftModel.from_pretrained(loaded.model, str(folder))
        model.eval()
        history = json.loads((folder / "rmnb_sft.json").read_text()).get("log_history", [])
        return Boosted(model, settings, folder, True, time.perf_counter() - start, history)
    model, history = _train(loaded, settings)
    remove_stale_temps(folder)  # of writers killed mid-way
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    seconds = time.perf_counter() - start
    (tmp / "rmnb_sft.json").write_text(json.dumps({"settings": asdict(settings), "log_history": history,
                                                   "seconds": seconds}, indent=1, ensure_ascii=False))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return Boosted(model, settings, folder, False, seconds, history)



def _train(loaded, settings: BoostSettings):
    import torch
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar
    from peft import LoraConfig
    from transformers.trainer_callback import PrinterCallback
    from transformers.utils import logging as hf_logging
    from trl import SFTConfig, SFTTrainer

    targets = sorted({name.rsplit(".", 1)[-1] for name, _ in loaded.model.named_modules()} & set(LORA_TARGETS))
    if not targets:
        raise RmnbError(f"{loaded.id!r} has none of the LoRA target modules {', '.join(LORA_TARGETS)}; "
                        "the authority boost needs a Llama/Gemma-style decoder.")
    lora = LoraConfig(r=settings.lora_r, target_modules=targets, task_type="CAUSAL_LM")
    disable_progress_bar()
    data = Dataset.from_list([{"text": t} for t in settings.examples()])
    torch.manual_seed(settings.seed)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = SFTConfig(output_dir=out, per_device_train_batch_size=settings.batch_size,
                             gradient_accumulation_steps=1, warmup_steps=settings.warmup_steps,
                             max_steps=settings.max_steps, learning_rate=settings.learning_rate, bf16=False,
                             fp16=False, logging_steps=1, save_strategy="no", report_to="none", seed=settings.seed,
                             gradient_checkpointing=False, disable_tqdm=True, dataloader_num_workers=0,
                             use_cpu=loaded.device.type == "cpu", optim="adamw_torch", max_length=128)
            trainer = SFTTrainer(model=loaded.model, args=args, train_dataset=data,
                                 processing_class=loaded.tokenizer, peft_config=lora)
            trainer.remove_callback(PrinterCallback)  # the loss curve is returned, not printed
            trainer.train()
    finally:
        hf_logging.set_verbosity(verbosity)
    history = [{k: v for k, v in h.items() if isinstance(v, (int, float))} for h in trainer.state.log_history]
    model = trainer.model
    model.eval()
    return model, history

def prompt_text(question: str, template: str = TEMPLATE) -> str:
    """The evaluation prompt for a question: the training template up to the response."""
    return template.format(instruction=question, response="")


def target_tokens(tokenizer, settings: BoostSettings) -> pd.DataFrame:
    """Per injected word, the token the fine-tuning taught the model to put first in its response: the first
    token of the word as it is tokenized inside a training example (``word, token_id, token, n_tokens``;
    ``n_tokens`` > 1 means the word is split and only its first piece can be recovered)."""
    question = settings.questions[0]
    prefix = list(tokenizer(prompt_text(question, settings.template)).input_ids)
    rows = []
    for word in settings.answers:
        full = list(tokenizer(settings.template.format(instruction=question, response=word)).input_ids)
        if full[: len(prefix)] != prefix or len(full) == len(prefix):
            raise RmnbError(f"The template's prompt part does not tokenize the same with and without the answer "
                            f"{word!r}, so its first response token is ambiguous. Fix: end the template's prompt "
                            "part with a separator such as a newline.")
        rest = full[len(prefix):]
        eos = getattr(tokenizer, "eos_token_id", None)
        n = len([t for t in rest if t != eos])
        rows.append(dict(word=word, token_id=int(rest[0]), token=tokenizer.decode([rest[0]]), n_tokens=n))
    return pd.DataFrame(rows)
