"""The model registry: which models exist, where their files are, how to fetch them.

Files are looked up, in order, in the folders of ``NODESWAP_MODELS``
(os.pathsep-separated), the user's models folder and the download cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ModelMissingError, UserError

log = logging.getLogger(__name__)


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
    info = manifest().get(name) or next((m for m in manifest().values() if m.file == name), None)
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
    ``verify``, another sha256; None when it looks right."""
    size = path.stat().st_size
    if info.size and size != info.size:
        return f"corrupt or truncated ({size} bytes, expected {info.size})"
    if verify and info.sha256 and sha256_of(path) != info.sha256:
        return "corrupt (its sha256 differs from the manifest's)"
    return None


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


def _download(url: str, progress: bool) -> bytes:
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "nodeswap"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        name = url.rsplit("/", 1)[-1][:40]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                chunks.append(block)
                bar.update(len(block))
    return b"".join(chunks)


def fetch(name: str, target_dir: Path | None = None, progress: bool = True, download: Any = None) -> Path:
    """Download model ``name`` into ``target_dir`` (the user's models folder).

    A ``url#member`` URL names a file inside a zip or tar archive. A file whose
    sha256 differs from the manifest is refused and nothing is left behind.
    """
    info = manifest().get(name)
    if info is None:
        raise UserError(f"unknown model '{name}' (see: python run.py models)")
    target_dir = target_dir or user_models_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / info.file
    download = download or _download
    errors = []
    for url in info.urls:
        address, _, member = url.partition("#")
        try:
            blob = download(address, progress)
            data = _extract(blob, member) if member else blob
        except Exception as exc:  # network errors come in many types
            errors.append(f"{address}: {exc}")
            continue
        actual = hashlib.sha256(data).hexdigest()
        if info.sha256 and actual != info.sha256:
            errors.append(f"{address}: sha256 {actual} differs from the expected {info.sha256}; file refused")
            continue
        if not info.sha256:
            log.warning("%s has no known sha256; saved unchecked (sha256 %s)", info.file, actual)
        fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{info.file}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
    raise UserError(f"could not fetch {name}: " + "; ".join(errors))
