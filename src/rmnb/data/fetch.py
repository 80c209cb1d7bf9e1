"""Released data: a registry of files pinned by URL (at a commit) and sha256.

Files are read from a local copy when ``RMNB_DATA_DIR`` is set (one folder per source, laid out as
``../shared/data``), else downloaded once into the user cache with ``pooch``. Checksums are verified in both
cases; a mismatch is an error, never a silent re-download.

>>> path = fetch("iclr2026", "config/prompts.yaml")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from rmnb.base.errors import RmnbError
from rmnb.base.paths import cache_dir

ICLR2026_COMMIT = "5d8d2e9d879bf0060c791b11300f0efda42c9bcf"
FACCT2025_COMMIT = "42dc162d0f88825d67f22f64ecc45648a9a09a48"  # "Initial public release"
AFINN_COMMIT = "754ca0fcf811693caf97011329f346095573327d"  # added AFINN-en-165.txt (2015-09-29); unchanged at HEAD
AFINN_LICENSE_COMMIT = "ddce0f8d5f7d09b133c28e1f8f6460f8fb4f2015"  # afinn/data/LICENSE, the ODbL text

# Where each source's files come from: a URL prefix for the file's path, or an explicit URL per file.
SOURCES: dict[str, dict] = {
    "iclr2026": {
        "base_url": "https://raw.githubusercontent.com/brchristian/"
                    f"reward_models_inherit_value_biases_from_pretraining/{ICLR2026_COMMIT}/",
        "what": "the authors' released data (Christian et al., ICLR 2026)",
    },
    "facct2025": {
        "base_url": "https://raw.githubusercontent.com/summerfieldlab/Christian_etal_2025_FAccT/"
                    f"{FACCT2025_COMMIT}/",
        "what": "the FAccT 2025 study's published tables (Christian et al., 2025; MIT licence)",
    },
    "hh_rlhf": {
        "urls": {"harmless-base_test.jsonl.gz": "https://raw.githubusercontent.com/anthropics/hh-rlhf/"
                 "0398e3636f8d641a03d65b9362aa091297f28564/harmless-base/test.jsonl.gz"},
        "what": "Anthropic HH-RLHF, harmless-base test split",
    },
    "mfd2": {
        "urls": {"mfd2.0.dic": "https://raw.githubusercontent.com/medianeuroscience/emfdscore/"
                 "5fe7e96b76b56b55acc4ea12c9f717ea31313928/emfdscore/dictionaries/mfd2.0.dic"},
        "what": "Moral Foundations Dictionary 2.0 as distributed with eMFDscore",
    },
    "big_two": {
        "urls": {"nvm_PietraszkiewiczEtAl2019a_data.json": "https://raw.githubusercontent.com/cogsys-io/nvm/"
                 "55689869cc218f0dea76987b834cacf54b8dce50/nvm/aux_spacy/data/PietraszkiewiczEtAl2019a/data.json"},
        "what": "Big Two dictionaries (Pietraszkiewicz et al., 2019) as packaged by nvm",
    },
    "afinn": {
        "urls": {"AFINN-en-165.txt": "https://raw.githubusercontent.com/fnielsen/afinn/"
                 f"{AFINN_COMMIT}/afinn/data/AFINN-en-165.txt",
                 "LICENSE-ODbL.md": "https://raw.githubusercontent.com/fnielsen/afinn/"
                 f"{AFINN_LICENSE_COMMIT}/afinn/data/LICENSE"},
        "what": "AFINN-165 sentiment word list (Nielsen, 2011; Open Database License 1.0) and its licence",
    },
}


@lru_cache(maxsize=None)
def registry() -> dict[tuple[str, str], str]:
    """``{(source, path): sha256}`` for every registered file."""
    out = {}
    for line in files("rmnb.data").joinpath("data_registry.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, digest = line.split()
            source, path = key.split("/", 1)
            out[(source, path)] = digest
    return out


def url_of(source: str, path: str) -> str:
    spec = SOURCES[source]
    return spec["urls"][path] if "urls" in spec else spec["base_url"] + path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: str, size: int, mtime: float, expected: str) -> str:
    return sha256_of(Path(path))


def _check(path: Path, source: str, name: str, expected: str, where: str, local: bool = False) -> Path:
    stat = path.stat()
    actual = _verified(str(path), stat.st_size, stat.st_mtime, expected)
    if actual != expected:
        if local:  # rmnb never downloads into RMNB_DATA_DIR: deleting the file there would not bring it back
            fix = (f"replace {path} with an intact copy (from {url_of(source, name)}), or point RMNB_DATA_DIR at "
                   "an intact copy, or unset RMNB_DATA_DIR to download the file into the rmnb cache")
        else:
            fix = (f"delete {path} and run again (it is re-downloaded from {url_of(source, name)}), or point "
                   "RMNB_DATA_DIR at an intact copy")
        raise RmnbError(
            f"checksum mismatch for {source}/{name} ({where} {path}): expected sha256 {expected}, got {actual}. "
            f"The file is corrupt or not the pinned version. Fix: {fix}."
        )
    return path


def fetch(source: str, path: str) -> Path:
    """Local path of a registered file, verified against its sha256."""
    try:
        expected = registry()[(source, path)]
    except KeyError:
        known = sorted({s for s, _ in registry()})
        raise RmnbError(f"{source}/{path} is not in rmnb's data registry (sources: {', '.join(known)}). "
                        "Fix: use a registered path (see rmnb/data/data_registry.txt).") from None

    local_root = os.environ.get("RMNB_DATA_DIR")
    if local_root:
        local = Path(local_root) / source / path
        if not local.exists():
            raise RmnbError(
                f"{source}/{path} is missing from RMNB_DATA_DIR={local_root} (looked for {local}; expected sha256 "
                f"{expected}). Fix: copy it there from {url_of(source, path)}, or unset RMNB_DATA_DIR to download it.")
        return _check(local, source, path, expected, "in RMNB_DATA_DIR:", local=True)

    target = cache_dir("data", source) / path
    if target.exists():
        return _check(target, source, path, expected, "cached at")
    return _download(source, path, expected, target)


def _download(source: str, path: str, expected: str, target: Path) -> Path:
    import pooch

    url = url_of(source, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pooch.retrieve(url, known_hash=f"sha256:{expected}", fname=target.name, path=target.parent,
                       progressbar=False)
    except ValueError as exc:  # pooch's hash mismatch after download
        raise RmnbError(f"downloaded {url} but its sha256 is not the pinned {expected}: {exc}. "
                        "Fix: report it; upstream changed the file behind a pinned URL.") from None
    except Exception as exc:  # no network, HTTP error
        raise RmnbError(
            f"could not download {source}/{path} from {url} ({type(exc).__name__}: {exc}); expected sha256 "
            f"{expected}. Fix: connect to the internet, or set RMNB_DATA_DIR to a folder holding {source}/{path} "
            "(e.g. the project's ../shared/data).") from None
    return target


def fetch_all(source: str) -> list[Path]:
    """Fetch every registered file of one source."""
    return [fetch(s, p) for (s, p) in registry() if s == source]
