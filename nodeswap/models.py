"""The model registry: which models exist, where their files are, how to fetch them.

Files are looked up, in order, in the folders of ``NODESWAP_MODELS``
(os.pathsep-separated), the user's models folder and the download cache.
A model whose sha256 is not published (DeepFaceLive's .dfm catalogue) is checked by
its content when downloaded, and the sha256 of its first good download is recorded
(``known_hashes.json`` beside it) so that a later change is noticed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ModelMissingError, UserError

log = logging.getLogger(__name__)
KNOWN_HASHES = "known_hashes.json"  # sha256 of first downloads of models the manifest has none for
MIRROR_ENV = "NODESWAP_MODEL_MIRROR"  # a folder or URL holding model files by name, tried before their URLs
ProgressFn = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    file: str
    role: str
    title: str
    size: int | None
    sha256: str | None
    licence: str
    urls: tuple[str, ...]
    source: str
    parts: int = 0  # > 0: each URL's file is published in this many pieces, URL.part0, URL.part1, ...


@lru_cache(maxsize=1)
def manifest() -> dict[str, ModelInfo]:
    """Every known model by name, from the manifest shipped in the package."""
    text = resources.files("nodeswap").joinpath("models.json").read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = json.loads(text)["models"]
    return {e["name"]: ModelInfo(**{**e, "urls": tuple(e["urls"])}) for e in entries}


def user_models_dir() -> Path:
    return Path(platformdirs.user_data_dir("nodeswap")) / "models"


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("nodeswap")) / "models"


def search_dirs() -> list[Path]:
    """Folders searched for model files, first match wins."""
    env = os.environ.get("NODESWAP_MODELS", "")
    dirs = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [*dirs, user_models_dir(), cache_dir()]


def find_file(file_name: str) -> Path | None:
    """The first existing ``file_name`` in the search folders."""
    for folder in search_dirs():
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    return None


def model_path(name: str, node_id: str = "") -> Path:
    """The file of the model ``name`` (manifest name or file name).

    Raises ModelMissingError naming the model, the folders searched and the
    fetch command.
    """
    info = lookup(name)
    file_name = info.file if info else name
    found = find_file(file_name)
    problem = file_problem(info, found) if info and found else None
    if found and not problem:
        return found
    if found:
        raise ModelMissingError(node_id, f"model '{file_name}' at {found} is {problem}; {fetch_hint(file_name)}")
    where = ", ".join(str(d) for d in search_dirs())
    hint = fetch_hint(file_name, "put the file in one of those folders")
    raise ModelMissingError(node_id, f"model '{file_name}' not found (looked in {where}); {hint}")


def lookup(name: str) -> ModelInfo | None:
    """The manifest's entry for a model name or file name."""
    return manifest().get(name) or next((m for m in manifest().values() if m.file == name), None)


def first_model(names: tuple[str, ...], node_id: str = "") -> tuple[int, Path]:
    """(index, file) of the first of ``names`` (alternatives, any one will do) that is on this machine;
    the first one's ModelMissingError when none is."""
    missing: ModelMissingError | None = None
    for index, name in enumerate(names):
        try:
            return index, model_path(name, node_id)
        except ModelMissingError as exc:
            missing = missing or exc
    raise missing or ModelMissingError(node_id, "no model named")


def fetch_hint(file_name: str, otherwise: str = "replace the file") -> str:
    """How to get a good copy of a model file: the fetch command when the manifest knows where."""
    info = next((m for m in manifest().values() if m.file == file_name), None)
    return f"run: python run.py models fetch {info.name}" if info and info.urls else otherwise


def file_problem(info: ModelInfo, path: Path, verify: bool = False) -> str | None:
    """What is wrong with a model file: a size other than the manifest's (cheap, always checked) or, with
    ``verify``, another sha256 than the manifest's or the one recorded at its first download (a model
    with neither is checked by its content where the manifest's role allows: a .dfm); None when it
    looks right."""
    size = path.stat().st_size
    if info.size and size != info.size:
        return f"corrupt or truncated ({size} bytes, expected {info.size})"
    if not verify:
        return None
    if info.sha256:
        return "corrupt (its sha256 differs from the manifest's)" if sha256_of(path) != info.sha256 else None
    recorded = recorded_sha256(info.file, path.parent, user_models_dir())
    if recorded:
        if sha256_of(path) != recorded:
            return "changed or corrupt (its sha256 differs from the one recorded at its first download)"
        return None
    return content_problem(info, path.read_bytes())


def content_problem(info: ModelInfo, data: bytes) -> str | None:
    """Why ``data`` is not the model ``info`` describes, judged by its content (for models whose sha256 is not
    published: a .dfm must open as ONNX with the DFM signature); None when it passes or cannot be judged."""
    if info.role != "dfm":
        return None
    from .dfm import DfmError, check_bytes  # dfm imports this module

    try:
        check_bytes(data, info.file)
    except DfmError as exc:
        return f"not a DFM model: {exc}"
    return None


def recorded_sha256(file_name: str, *folders: Path) -> str | None:
    """The sha256 recorded at the first download of ``file_name`` in the first of ``folders`` that has one."""
    for folder in folders:
        entry = known_hashes(folder).get(file_name)
        if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
            return str(entry["sha256"])
    return None


def known_hashes(folder: Path) -> dict[str, Any]:
    """File name -> {sha256, url, time} of the first downloads into ``folder`` ({} when none or unreadable)."""
    try:
        data = json.loads((folder / KNOWN_HASHES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def record_sha256(folder: Path, file_name: str, sha256: str, url: str) -> None:
    """Remember the sha256 of a first download in ``folder``'s known_hashes.json (written atomically)."""
    files = known_hashes(folder)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    files[file_name] = {"sha256": sha256, "url": url, "time": when}
    text = json.dumps({"format": "nodeswap.known_hashes", "version": 1, "files": files}, indent=2, sort_keys=True)
    _write_atomic(folder / KNOWN_HASHES, (text + "\n").encode("utf-8"))


def files_with_suffix(suffix: str) -> list[Path]:
    """Every file ending in ``suffix`` in the search folders (e.g. user .dfm models)."""
    seen: dict[str, Path] = {}
    for folder in search_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob(f"*{suffix}")):
                seen.setdefault(path.name, path)
    return list(seen.values())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _extract(blob: bytes, member: str) -> bytes:
    """One member of a zip (wheel) or tar.gz archive."""
    if zipfile.is_zipfile(io.BytesIO(blob)):
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return archive.read(member)
    with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise UserError(f"archive has no file {member}")
        return handle.read()


def _download(url: str, progress: bool | ProgressFn) -> bytes:
    """The bytes at ``url``; ``progress``: a tqdm bar on stderr (True), none (False), or a function told
    (bytes so far, total or None) after each block (the editor's download button)."""
    from tqdm import tqdm

    report = progress if callable(progress) else None
    request = urllib.request.Request(url, headers={"User-Agent": "nodeswap"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks, done = [], 0
        name = url.rsplit("/", 1)[-1][:40]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=report is not None or not progress) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                chunks.append(block)
                done += len(block)
                bar.update(len(block))
                if report is not None:
                    report(done, total)
    return b"".join(chunks)


def _sources(info: ModelInfo) -> list[tuple[str, str]]:
    """(address, archive member or '') to try in order: the mirror of NODESWAP_MODEL_MIRROR first (it holds
    the model files themselves, by file name), then the manifest's URLs."""
    found = [(url.partition("#")[0], url.partition("#")[2]) for url in info.urls]
    mirror = os.environ.get(MIRROR_ENV, "")
    if mirror:
        base = mirror if "://" in mirror else Path(mirror).expanduser().resolve().as_uri()
        found.insert(0, (f"{base.rstrip('/')}/{info.file}", ""))
    return found


def _write_atomic(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _download_joined(download: Any, address: str, parts: int, progress: bool | ProgressFn) -> bytes:
    """The bytes at ``address``; with ``parts``, those at ``address``.part0 ... .part{parts - 1} joined in order
    (how DeepFaceLive publishes files over GitHub's 100 MB limit: xlib/file/SplittedFile.py)."""
    if parts <= 0:
        whole: bytes = download(address, progress)
        return whole
    return b"".join(download(f"{address}.part{n}", progress) for n in range(parts))


def fetch(name: str, target_dir: Path | None = None, progress: bool | ProgressFn = True, download: Any = None) -> Path:
    """Download model ``name`` into ``target_dir`` (the user's models folder).

    A ``url#member`` URL names a file inside a zip or tar archive. A file whose sha256 differs from the
    manifest's, or (none published) from the one recorded at its first download, or whose content is not
    the model (a .dfm without the DFM signature), is refused and nothing is left behind. ``download(url,
    progress)`` returns the bytes at ``url`` (tests pass their own); ``progress`` as ``_download`` takes it.
    """
    info = manifest().get(name)
    if info is None:
        raise UserError(f"unknown model '{name}' (see: python run.py models)")
    target_dir = target_dir or user_models_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / info.file
    download = download or _download
    recorded = None if info.sha256 else recorded_sha256(info.file, target_dir)
    errors = []
    for address, member in _sources(info):
        try:
            listed = any(url.partition("#")[0] == address for url in info.urls)  # a mirror has whole files
            blob = _download_joined(download, address, info.parts if listed else 0, progress)
            data = _extract(blob, member) if member else blob
        except Exception as exc:  # network errors come in many types
            errors.append(f"{address}: {exc}")
            continue
        actual = hashlib.sha256(data).hexdigest()
        problem = None
        if info.sha256 and actual != info.sha256:
            problem = f"sha256 {actual} differs from the expected {info.sha256}"
        elif recorded and actual != recorded:
            problem = (
                f"sha256 {actual} differs from {recorded}, recorded at its first download "
                f"(in {target_dir / KNOWN_HASHES}: delete that entry to accept a file its publisher changed)"
            )
        problem = problem or content_problem(info, data)
        if problem:
            errors.append(f"{address}: {problem}; file refused")
            continue
        if not info.sha256 and not recorded:
            log.warning(
                "%s has no published sha256; its sha256 %s is recorded to check later copies", info.file, actual
            )
        _write_atomic(target, data)
        if not info.sha256:
            record_sha256(target_dir, info.file, actual, address)
        return target
    raise UserError(f"could not fetch {name}: " + "; ".join(errors))
