"""How a results file was made: the ``provenance`` block every st-glot results JSON carries.

:func:`provenance` assembles the block; the ``describe_*`` and ``*_source`` helpers fill its
parts from the objects a run used. The block holds:

- ``st_glot``: the version and, when st-glot runs from a git checkout, its commit and whether
  tracked files differ from it (``dirty``); both null otherwise.
- ``command``: the command line as run (``sys.argv``, or ``st-glot`` and the arguments given to
  :func:`st_glot.cli.main.main`); ``script``: the benchmark script (a path inside the checkout)
  that ran it, found in the command or in the parent process's command line, else null.
- ``configuration``: what the caller resolved: ``backbone`` (:func:`describe_backbone`),
  ``methods`` (:func:`describe_method` per method: every pooler option as built, ``auto`` values
  resolved) and ``training`` (loss, learning rate, epochs, batch size, seeds …).
- ``data``: one entry per input: a file with its SHA-256 and row count (:func:`file_source`), a Hub
  dataset with the revision in the local Hub cache (:func:`hub_source`), or generated data.
- ``machine``: CPU model, logical CPUs, torch threads, device, Python and library versions.
- ``started`` / ``finished``: the process's start time and the time the block was made, UTC ISO 8601.
- ``reconstructed``: False here. Blocks written afterwards for results made before the block existed say
  True, leave what is unknown null, and add ``reconstruction`` (where each field came from) and, where a
  result was not made by its script as it stands, ``note``.

Only the standard library is imported at module level; torch and psutil load when a block is made.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

#: Version of the block's layout; a change of its keys changes it.
SCHEMA = 1
#: Libraries whose versions the block records (distribution names).
LIBRARIES: tuple[str, ...] = ("torch", "transformers", "sentence-transformers")


def provenance(
    *,
    configuration: Mapping[str, Any] | None = None,
    data: Sequence[Mapping[str, Any]] = (),
    device: str | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``provenance`` block of a results file written now (see the module docstring).

    Args:
        configuration: the resolved configuration (``backbone``, ``methods``, ``training``, or what
            applies to the run); None when the run has none.
        data: the inputs, from :func:`file_source`, :func:`hub_source` or :func:`generated_source`.
        device: the device the run computed on (``"cpu"``, ``"cuda:0"``).
        command: the command line; default ``sys.argv``.
    """
    command = list(sys.argv if command is None else command)
    return {
        "schema": SCHEMA,
        "reconstructed": False,
        "st_glot": checkout(),
        "command": command,
        "script": benchmark_script(command),
        "configuration": _jsonable(configuration),
        "data": [dict(d) for d in data],
        "machine": machine(device),
        "started": process_start(),
        "finished": _iso(datetime.now(timezone.utc)),
    }


def _jsonable(value: Any) -> Any:
    """``value`` as JSON holds it: paths and other objects as their ``str``, tuples as lists."""
    return json.loads(json.dumps(value, default=str))


def checkout() -> dict[str, Any]:
    """``{"version", "commit", "dirty"}``: st-glot's version; the commit of the git checkout it is imported
    from and whether tracked files differ from it (untracked files do not count), or both None when st-glot
    is not imported from a checkout's top folder (an installed package)."""
    import st_glot

    root = package_root()
    commit = dirty = None
    if _git(root, "rev-parse", "--show-toplevel") == str(root):
        commit = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        dirty = None if status is None else bool(status)
    return {"version": st_glot.__version__, "commit": commit, "dirty": dirty}


def package_root() -> Path:
    """The folder that holds the ``st_glot`` package (a checkout's top folder, or site-packages)."""
    return Path(__file__).resolve().parents[2]


def _git(root: Path, *args: str) -> str | None:
    """``git -C root ARGS``'s output, stripped; None when git is missing or fails."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def benchmark_script(command: Sequence[str]) -> str | None:
    """The file under the checkout's ``benchmarks/`` folder that ran ``command``: its first word that is one
    (``python benchmarks/x.py``), else one in the parent process's command line (``benchmarks/x.sh`` running
    ``st-glot``); the path relative to the checkout, or None."""
    benchmarks = package_root() / "benchmarks"
    for words in (command, _parent_command()):
        for word in words:
            path = Path(word)
            if path.suffix in (".py", ".sh") and path.is_file() and path.resolve().parent == benchmarks:
                return path.resolve().relative_to(package_root()).as_posix()
    return None


def _parent_command() -> list[str]:
    try:
        import psutil

        return psutil.Process().parent().cmdline()
    except Exception:  # noqa: BLE001 — no psutil, no parent, or no permission: no script to name
        return []


def machine(device: str | None = None) -> dict[str, Any]:
    """The machine: CPU model, logical CPUs, torch's thread count, ``device`` (with the GPU's name on CUDA),
    the platform, and the versions of Python and :data:`LIBRARIES`."""
    import torch

    gpu = None
    if device is not None and device.startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": device,
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{name.replace("-", "_"): _version(name) for name in LIBRARIES},
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS), else the platform's processor."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
        except OSError:
            pass
    return platform.processor() or platform.machine()


def process_start() -> str | None:
    """When this process started, UTC ISO 8601 (None without psutil)."""
    try:
        import psutil

        return _iso(datetime.fromtimestamp(psutil.Process().create_time(), timezone.utc))
    except Exception:  # noqa: BLE001 — psutil missing or refused: the start is unknown
        return None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def describe_backbone(backbone: Any, requested: str | None = None, label: str | None = None) -> dict[str, Any]:
    """A frozen backbone (a sentence-transformers ``Transformer``) as loaded.

    Returns:
        ``id`` (``label``, a short name), ``requested`` (the name or path asked for), ``path`` (what
        Transformers loaded), ``revision`` (the Hub commit, for a Hub model), ``package`` (the Python
        distribution and version whose files it is, e.g. the embedded all-MiniLM-L6-v2), ``dtype`` of its
        weights, ``max_seq_length`` and ``template`` (None: plain text).
    """
    model = backbone.auto_model
    path = getattr(model.config, "_name_or_path", None) or getattr(model, "name_or_path", None)
    return {
        "id": label,
        "requested": requested,
        "path": path,
        "revision": getattr(model.config, "_commit_hash", None),
        "package": distribution_of(path),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "max_seq_length": backbone.max_seq_length,
        "template": getattr(backbone, "template", None),
    }


def distribution_of(path: str | None) -> dict[str, str] | None:
    """``{"name", "version"}`` of the installed distribution whose package folder holds ``path`` (a folder
    of a top-level package on ``sys.path``), or None."""
    if not path or not os.path.exists(path):
        return None
    target = Path(path).resolve()
    roots = {Path(p).resolve() for p in sys.path if p and os.path.isdir(p)}
    for folder in (target, *target.parents):
        if folder.parent in roots:
            names = metadata.packages_distributions().get(folder.name)
            return {"name": names[0], "version": metadata.version(names[0])} if names else None
    return None


def describe_method(pooler: Any, backbone: Any = None, preset: str | None = None) -> dict[str, Any]:
    """One method as built: ``pooler`` (the module's class), ``options`` (its saved configuration, every
    option resolved, e.g. GLOT's ``anchor``), ``preset`` (the preset its options started from, for GLOT)
    and ``template`` (the text template of the backbone it reads, None for plain text)."""
    return {
        "pooler": type(pooler).__name__,
        "preset": preset,
        "options": pooler.get_config_dict(),
        "template": getattr(backbone, "template", None),
    }


def file_source(path: str | os.PathLike, rows: int | None) -> dict[str, Any]:
    """A data file: ``path`` (absolute), ``sha256`` of its bytes and ``rows`` (the caller's count of the
    records its reader read)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": os.path.abspath(path), "sha256": digest.hexdigest(), "rows": rows}


def hub_source(repo_id: str, config: str | None = None, split: str | None = None) -> dict[str, Any]:
    """A Hugging Face Hub dataset: ``hub`` (its id), ``config``, ``split`` and ``revision``: the commit the
    local Hub cache holds for its main branch (what ``datasets.load_dataset`` read), or None."""
    return {"hub": repo_id, "config": config, "split": split, "revision": hub_cache_revision(repo_id)}


def hub_cache_revision(repo_id: str, repo_type: str = "dataset") -> str | None:
    """The commit of ``repo_id``'s main branch in the local Hugging Face Hub cache, or None."""
    from huggingface_hub import constants

    ref = Path(constants.HF_HUB_CACHE) / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / "main"
    try:
        return ref.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def generated_source(maker: str, **settings: Any) -> dict[str, Any]:
    """Data made by the run itself: ``generated`` (what made it, e.g. a module) and the settings it was made with."""
    return {"generated": maker, **settings}
