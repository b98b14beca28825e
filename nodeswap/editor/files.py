"""Editor files that are not graphs: recent files, the crash-recovery autosave, presets (no GUI)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import graph_io
from ..graph import Graph
from ..registry import Registry

log = logging.getLogger(__name__)
PRESETS = Path(__file__).resolve().parent.parent.parent / "graphs"
MAX_RECENT = 10


def config_dir() -> Path:
    """The user config folder (``NODESWAP_CONFIG_DIR`` overrides it, for tests)."""
    override = os.environ.get("NODESWAP_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("nodeswap", appauthor=False))


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def presets(folder: Path = PRESETS) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


class RecentFiles:
    """The most recently opened or saved graphs, newest first."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "recent.json"
        self.items: list[str] = self._read()

    def _read(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [str(x) for x in data if isinstance(x, str)][:MAX_RECENT] if isinstance(data, list) else []

    def add(self, path: str | Path) -> None:
        text = str(Path(path).resolve())
        self.items = [text, *[x for x in self.items if x != text]][:MAX_RECENT]
        try:
            _write_json(self.path, self.items)
        except OSError as exc:
            log.warning("cannot write the recent files list %s: %s", self.path, exc)

    def existing(self) -> list[str]:
        return [x for x in self.items if Path(x).is_file()]


class Recovery:
    """Autosave of unsaved work, offered back after a crash.

    The recovery file is a normal graph file plus a small side file telling
    which document it belongs to and when it was written. A clean exit removes both.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_dir()
        self.graph_path = self.folder / "recovery.json"
        self.meta_path = self.folder / "recovery.meta.json"

    def save(self, graph: Graph, document: str | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        graph_io.save(graph, self.graph_path)
        _write_json(self.meta_path, {"document": document or "", "time": time.time(), "pid": os.getpid()})

    def pending(self) -> dict[str, Any] | None:
        """What a previous session left (document, time), or None."""
        if not self.graph_path.is_file():
            return None
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        meta.setdefault("document", "")
        meta.setdefault("time", self.graph_path.stat().st_mtime)
        return meta

    def load(self, registry: Registry | None = None) -> tuple[Graph, list[Any]]:
        text = self.graph_path.read_text(encoding="utf-8")
        return graph_io.build(graph_io.parse_text(text, str(self.graph_path)), registry)

    def clear(self) -> None:
        for path in (self.graph_path, self.meta_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove %s: %s", path, exc)


def open_graph(path: str | Path, registry: Registry | None = None) -> tuple[Graph, list[Any]]:
    """A graph from a file plus its problems; a broken file still gives its valid part.

    Raises GraphError only when there is nothing to show (unreadable file, not JSON).
    """
    from ..errors import GraphError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read: {exc}", str(path)) from None
    return graph_io.build(graph_io.parse_text(text, str(path)), registry)


def process_alive(pid: int) -> bool:
    """Whether the process ``pid`` (another editor's, from its recovery file) still runs."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def chosen_path(app_data: dict[str, Any], save: bool, default_suffix: str = "") -> str:
    """The path the user meant in dearpygui's file dialog: the file picked, exactly as it is on disk, or the
    name typed (an absolute path as typed, a relative one in the folder shown), never the dialog's own
    ``file_path_name``, which puts the filter's extension on the name ("out.*") and the folder in front of an
    absolute path. Saving a name without an extension adds ``default_suffix``. '' when nothing was chosen."""
    picked = [str(p) for p in (app_data.get("selections") or {}).values()]
    typed = str(app_data.get("file_name") or "").strip()
    if typed.endswith(".*"):  # the dialog's "all files" filter, not part of the name
        typed = typed[:-2]
    if picked and (not typed or typed in (Path(picked[0]).name, Path(picked[0]).stem)):
        return picked[0]
    if not typed or typed == ".":
        return ""
    path = Path(typed).expanduser()
    if not path.is_absolute():
        path = Path(str(app_data.get("current_path") or ".")) / path
    if save and not path.suffix and default_suffix:
        path = path.with_suffix(default_suffix)
    return str(path)


def filter_label(name: str, extensions: tuple[str, ...]) -> str:
    """A dearpygui file dialog filter that shows every one of ``extensions`` at once."""
    return f"{name} ({' '.join('*' + e for e in extensions)}){{{','.join(extensions)}}}"


def size_text(size: int) -> str:
    """A file size in the units people read: B, KB, MB, GB (1024 each)."""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def folder_listing(folder: Path, extensions: tuple[str, ...]) -> tuple[list[str], list[tuple[str, int]]]:
    """The folders (A to Z, any case) and the files whose suffix is one of ``extensions`` (".*": every file)
    in ``folder``, with their sizes; hidden entries left out. Empty lists where it cannot be read."""
    every = ".*" in extensions or not extensions
    wanted = {e.lower() for e in extensions}
    folders: list[str] = []
    found: list[tuple[str, int]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                folders.append(entry.name)
            elif every or Path(entry.name).suffix.lower() in wanted:
                found.append((entry.name, entry.stat().st_size))
        except OSError:
            continue
    return sorted(folders, key=str.casefold), sorted(found, key=lambda f: f[0].casefold())


class LastFolders:
    """The folder each kind of file was last chosen in (kept in the config folder across sessions)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "folders.json"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.folders: dict[str, str] = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, kind: str) -> Path | None:
        folder = self.folders.get(kind)
        return Path(folder) if folder and Path(folder).is_dir() else None

    def remember(self, kind: str, chosen: str | Path) -> None:
        self.folders[kind] = str(Path(chosen).resolve().parent)
        try:
            _write_json(self.path, self.folders)
        except OSError as exc:
            log.warning("cannot write the last folders %s: %s", self.path, exc)
