"""Command line: edit, run, validate, nodes, models.

User errors print one readable message and exit with code 2; no traceback
reaches the user unless -v is given twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from .batch import add_parser as add_batch_parser
from .batch import cmd_batch
from .errors import GraphError, Issue, UserError
from .faceset_report import add_parser as add_faceset_parser
from .faceset_report import cmd_faceset
from .node import unwritable
from .priority import PRIORITIES, set_priority
from .train_commands import add_parser as add_train_parser
from .train_commands import cmd_export, cmd_train

log = logging.getLogger("nodeswap")
PRESETS = Path(__file__).resolve().parent.parent / "graphs"
DEFAULT_GRAPH = PRESETS / "video_swap.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodeswap", description="Node-graph editor for real-time face swapping.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument(
        "--priority",
        choices=PRIORITIES,
        default=os.environ.get("NODESWAP_PRIORITY", "normal"),
        help="process priority: lowest leaves the CPU to other programs first (default: $NODESWAP_PRIORITY or normal)",
    )
    sub = parser.add_subparsers(dest="command")
    edit = sub.add_parser("edit", help="open the editor (the default command)")
    edit.add_argument("graph", nargs="?", help="graph JSON to open (default: the video_swap preset)")
    run = sub.add_parser("run", help="run a graph without the editor")
    run.add_argument("graph")
    run.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="override a param")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="every frame, in order (default for files)")
    mode.add_argument("--live", action="store_true", help="real time, newest frame wins (default for cameras)")
    run.add_argument("--frames", type=int, help="stop after N frames")
    run.add_argument("--sequential", action="store_true", help="run the nodes one after another in one thread")
    run.add_argument(
        "--threads", action="store_true", help="run every node in a thread here (none in a worker process)"
    )
    run.add_argument("--stats", metavar="FILE", help="write run statistics as JSON")
    validate = sub.add_parser("validate", help="check a graph and list every problem")
    validate.add_argument("graph")
    nodes = sub.add_parser("nodes", help="list node types")
    nodes.add_argument("--json", action="store_true", help="machine-readable output")
    models = sub.add_parser("models", help="list models, or fetch them")
    models_sub = models.add_subparsers(dest="models_command")
    fetch = models_sub.add_parser("fetch", help="download models into the user's models folder")
    fetch.add_argument("names", nargs="*")
    fetch.add_argument("--all", action="store_true", help="every model but the DFM catalogue's (fetched by name)")
    models_sub.add_parser(
        "verify", help="check every model file present against its sha256 (the manifest's, or its first download's)"
    )
    add_faceset_parser(sub)
    add_batch_parser(sub)
    add_train_parser(sub)
    return parser


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_sets(data: dict[str, Any], sets: list[str]) -> None:
    """Apply ``NODE.PARAM=VALUE`` overrides to parsed graph JSON."""
    nodes: dict[str, Any] = data["nodes"] if isinstance(data.get("nodes"), dict) else {}
    for item in sets:
        target, eq, value = item.partition("=")
        node_id, dot, param = target.partition(".")
        if not eq or not dot or not param:
            raise UserError(f"--set {item}: expected NODE.PARAM=VALUE")
        if node_id not in nodes:
            raise UserError(f"--set {item}: the graph has no node '{node_id}'")
        nodes[node_id].setdefault("params", {})[param] = _parse_value(value)


def _read_graph(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise GraphError(f"cannot read: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError:
        raise GraphError("not a graph: the file is not UTF-8 text (a graph is a .json file)", path) from None


def _load_for_run(path: str, sets: list[str], text: str | None = None) -> Any:
    """The graph at ``path`` (or its ``text``, already read) with ``--set`` overrides, validated."""
    from .graph_io import build, parse_text

    data = parse_text(_read_graph(path) if text is None else text, path)
    apply_sets(data, sets)
    graph, issues = build(data)
    if issues:
        hint = Issue("", "set a param with --set NODE.PARAM=VALUE") if any("param" in i.where for i in issues) else None
        raise GraphError([*issues, *([hint] if hint else [])], path)
    return graph


def _write_json(path: str, data: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, target)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a timeout, kill, a service stopping): handled like Ctrl-C, outputs finalised."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


def _check_writable(path: str, what: str) -> None:
    """UserError before the run when ``path`` cannot be written (a folder, or a folder we cannot write in)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UserError(f"{what} {target} is a folder: give a file name")
    problem = unwritable(target.parent)
    if problem:
        raise UserError(f"{what} {target}: {problem}")


def _warn_disk_space(graph: Any) -> None:
    """A warning before the run when a file sink's disk has less free space than a rough estimate of the
    output: twice the size of the input files (an H.264 re-encode at the default quality)."""
    inputs = [graph.param_values(n).get("path") for n in graph.nodes if graph.node_class(n).category == "source"]
    need = 2 * sum(Path(p).stat().st_size for p in inputs if p and Path(p).is_file())
    for node_id in graph.nodes:
        out = graph.param_values(node_id).get("path")
        if graph.node_class(node_id).category != "sink" or not out or not need:
            continue
        folder = next((f for f in Path(out).expanduser().absolute().parents if f.exists()), Path.cwd())
        free = shutil.disk_usage(folder).free
        if free < need:
            log.warning(
                "node '%s': %s has %.0f MB free, the output may need about %.0f MB",
                node_id,
                folder,
                free / 1e6,
                need / 1e6,
            )


def _source_paths(graph: Any) -> list[str]:
    """'NODE (PATH)' of every source node that reads a file."""
    found = []
    for node_id in graph.nodes:
        path = graph.param_values(node_id).get("path")
        if graph.node_class(node_id).category == "source" and path:
            found.append(f"source '{node_id}' ({path})")
    return found


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 0 only when every sink finalised every frame it was given; 2 for a user error found before or
    during the run (a sink that failed loses frames: the run stops); 130 / 143 after Ctrl-C / SIGTERM, with
    the outputs finalised; 1 for a bug."""
    from .live_outputs import prepare_live
    from .scheduler import Scheduler
    from .validate import model_issues, needed_nodes

    graph = _load_for_run(args.graph, args.set)
    if args.frames is not None and args.frames < 1:
        raise UserError("--frames must be at least 1")
    if args.stats:
        _check_writable(args.stats, "--stats")
    missing = model_issues(graph, needed_nodes(graph))
    if missing:  # every missing model at once, before anything loads
        raise GraphError(missing, args.graph)
    _warn_disk_space(graph)
    live = args.live or (not args.offline and any(e.type == "source.camera" for e in graph.nodes.values()))
    if live:
        for note in prepare_live(graph):
            print(f"live run: {note}", file=sys.stderr)
    scheduler = Scheduler(graph, live=live, sequential=args.sequential, processes=not args.threads)
    scheduler.stop_on_sink_error = True
    interrupted: KeyboardInterrupt | None = None
    previous = signal.signal(signal.SIGTERM, _terminate) if hasattr(signal, "SIGTERM") else None
    try:
        scheduler.run(args.frames)
    except KeyboardInterrupt as exc:
        interrupted = exc
        scheduler.stop()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    stats = scheduler.stats()
    if args.stats:
        _write_json(args.stats, stats)
    errors = {k: v["last_error"] for k, v in stats["nodes"].items() if v["errors"]}
    for node_id, message in errors.items():
        log.warning("node '%s' had %d errors, last: %s", node_id, stats["nodes"][node_id]["errors"], message)
    print(
        f"{'stopped' if interrupted or scheduler.failures else 'done'}: {stats['frames']} frames in "
        f"{stats['seconds']:.1f} s ({stats['fps']:.1f} fps), dropped {stats['dropped']}, latency p50 "
        f"{stats['latency_ms']['p50']:.0f} ms",
        file=sys.stderr,
    )
    if scheduler.failures:
        raise UserError("; ".join(dict.fromkeys(scheduler.failures)))
    if interrupted is not None:
        return 143 if isinstance(interrupted, Terminated) else 130
    if stats["frames"] == 0:
        sources = ", ".join(_source_paths(graph)) or "the source"
        raise UserError(f"no frame was read from {sources}: not a video or image OpenCV can read?")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .graph_io import validate_text

    try:
        text = Path(args.graph).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", args.graph) from None
    issues = validate_text(text, args.graph)
    issues += _model_issues(text, args.graph)
    for issue in issues:
        print(f"{args.graph}: {issue}", file=sys.stderr)
    if not issues:
        print(f"{args.graph}: valid")
    return 2 if issues else 0


def _model_issues(text: str, source: str) -> list[Issue]:
    """Every model a valid graph's nodes will load that is missing or corrupt, each with its fetch command."""
    from .graph_io import build, parse_text
    from .validate import model_issues

    try:
        graph, _ = build(parse_text(text, source))
    except GraphError:
        return []  # validate_text has said why
    return model_issues(graph)


def cmd_nodes(args: argparse.Namespace) -> int:
    from .registry import default_registry

    registry = default_registry()
    if args.json:
        print(json.dumps([cls.describe() for cls in registry], indent=2))
        return 0
    for cls in registry:
        print(f"{cls.type_id}  ({cls.category})  {cls.title}")
        for port in cls.inputs:
            needs = " needs " + ", ".join(f"{k}={'|'.join(v)}" for k, v in port.caps) if port.caps else ""
            print(f"    in   {port.name}: {port.type}{' (optional)' if port.optional else ''}{needs}")
        for port in cls.outputs:
            print(f"    out  {port.name}: {port.type}")
        for p in cls.params:
            limits = f" [{p.min}..{p.max}]" if p.min is not None or p.max is not None else ""
            choices = f" {{{', '.join(p.choices)}}}" if p.choices else ""
            print(f"    param {p.name}: {p.kind} = {p.default!r}{limits}{choices}  {p.help}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import models

    if args.models_command == "fetch":
        names = [n for n, m in models.manifest().items() if m.role != "dfm"] if args.all else args.names
        if not names:
            raise UserError("models fetch: name a model or use --all (see: python run.py models)")
        for name in names:
            print(f"{name}: saved to {models.fetch(name)}")
        return 0
    verify, bad = args.models_command == "verify", 0
    for info in models.manifest().values():
        found = models.find_file(info.file)
        problem = models.file_problem(info, found, verify) if found else None
        if problem:
            bad += 1
            state = f"CORRUPT  {found}: {problem}; {models.fetch_hint(info.file)}"
        else:
            state = (
                f"{'ok' if verify else 'present':8} {found}" if found else f"missing  ({models.fetch_hint(info.file)})"
            )
        print(f"{info.name:16} {info.role:12} {state}")
    print(f"searched: {', '.join(str(d) for d in models.search_dirs())}")
    return 2 if bad else 0


def cmd_edit(args: argparse.Namespace) -> int:
    try:
        from .editor.app import main as editor_main
    except ImportError as exc:
        raise UserError(f"the editor cannot start: {exc}") from None
    return int(editor_main(args.graph or str(DEFAULT_GRAPH)) or 0)


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "nodes": cmd_nodes, "models": cmd_models, "edit": cmd_edit}
COMMANDS["faceset"] = cmd_faceset
COMMANDS["batch"] = cmd_batch
COMMANDS["train"] = cmd_train
COMMANDS["export"] = cmd_export


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _quiet_opencv(args.verbose)
    if args.command is None:
        args.command, args.graph = "edit", None
    try:
        set_priority(args.priority)
        return COMMANDS[args.command](args)
    except UserError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        text = _graph_message(exc) if isinstance(exc, GraphError) else "\n".join(f"error: {line}" for line in lines)
        print(text, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return 1
    except Exception as exc:
        if args.verbose >= 2:
            raise
        where = _crash_log()
        print(f"internal error (a bug in nodeswap): {type(exc).__name__}: {exc}; details in {where}", file=sys.stderr)
        return 1


def _crash_log() -> str:
    """The traceback of the exception being handled, written to a log file; its path (or a hint)."""
    import platformdirs

    try:
        folder = Path(platformdirs.user_log_dir("nodeswap"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(f"nodeswap {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}", encoding="utf-8")
        return str(path)
    except OSError:
        return "the traceback: run again with -vv"


def _quiet_opencv(verbose: int) -> None:
    """OpenCV prints its own warnings to stderr; keep them for -vv only."""
    import cv2

    if verbose >= 2:
        return
    # OpenCV 4.x has cv2.setLogLevel, OpenCV 5 has cv2.utils.logging.setLogLevel; both take 2 for errors only
    set_level = getattr(cv2, "setLogLevel", None) or getattr(getattr(cv2.utils, "logging", None), "setLogLevel", None)
    if set_level is not None:
        set_level(2)


def _graph_message(exc: GraphError) -> str:
    prefix = f"{exc.source}: " if exc.source else ""
    return "\n".join(f"error: {'' if issue.where == exc.source else prefix}{issue}" for issue in exc.issues)
