"""Hub commits: pinned in the registry, or recorded at the first download and reused (weights never change
under one run key)."""

import pytest

from rmnb.base.errors import RmnbError
from rmnb.models import loading, registry, revisions


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))


def test_pinned_entries_keep_their_commit():
    spec = registry.REGISTRY["nicolinho/QRM-Gemma-2-27B"]
    assert revisions.known(spec.id) == spec.revision
    assert loading.model_source(spec) == (spec.id, spec.revision)
    assert spec.id not in revisions.UNPINNED


def test_an_unpinned_hub_model_loads_the_commit_of_its_first_download():
    hub_id = "google/gemma-2-2b-it"
    assert hub_id in revisions.UNPINNED and revisions.known(hub_id) is None
    spec = registry.REGISTRY[hub_id]
    assert loading.model_source(spec) == (hub_id, None)  # the first download resolves main
    revisions.record(hub_id, "a" * 40)
    assert loading.model_source(spec) == (hub_id, "a" * 40)  # then that commit, in every later process
    revisions.record(hub_id, "b" * 40)  # a later download never moves the record
    assert revisions.known(hub_id) == "a" * 40
    assert loading.model_source(spec, "c" * 40) == (hub_id, "c" * 40)  # an explicit --revision wins
    assert loading.static_revision(hub_id) == "a" * 40  # what run keys are built from


def test_a_run_key_needs_a_commit(tmp_path):
    with pytest.raises(RmnbError, match="pins no Hub commit and none is recorded yet.*Fix: load or score it once"):
        loading.static_revision("meta-llama/Llama-3.2-3B")
    ref = tmp_path / "hf" / "models--meta-llama--Llama-3.2-3B" / "refs" / "main"  # downloaded before, offline now
    ref.parent.mkdir(parents=True)
    ref.write_text("d" * 40)
    assert loading.static_revision("meta-llama/Llama-3.2-3B") == "d" * 40
    assert revisions.known("meta-llama/Llama-3.2-3B") == "d" * 40  # recorded


def test_non_hub_ids_have_no_hub_commit(tmp_path):
    assert revisions.known("smollm2-135m-instruct") is None
    assert revisions.known(str(tmp_path)) is None
    revisions.record(str(tmp_path), "e" * 40)
    assert revisions.recorded() == {}
