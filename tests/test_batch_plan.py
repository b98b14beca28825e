"""Planning a batch without running it: the graph's source and sinks, inputs from files, folders and globs,
output names, the journal (torn lines, what is skipped), the summary, and the default --jobs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from nodeswap import cli
from nodeswap.batch import default_jobs
from nodeswap.batch_jobs import Targets, find_inputs, find_targets, fingerprint, partial_path, plan_jobs, writing_path
from nodeswap.batch_journal import Journal, output_frames, record, why_run
from nodeswap.batch_report import BatchView, summary
from nodeswap.errors import UserError
from nodeswap.graph_io import build, parse_text

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "graphs"


def preset(name: str) -> dict[str, Any]:
    data: dict[str, Any] = parse_text((PRESETS / name).read_text(), name)
    return data


def targets_of(data: dict[str, Any]) -> Targets:
    return find_targets(build(data, check_files=False)[0])


def test_targets_of_the_presets() -> None:
    assert targets_of(preset("video_swap.json")) == Targets("source", {"sink": ".mp4"}, {})
    assert targets_of(preset("face_debug.json")).sinks == {"faces": ".jsonl"}  # the preview writes no file


def test_a_sink_path_given_picks_the_extension_and_cuda_nodes_are_named() -> None:
    data = preset("video_swap.json")
    data["nodes"]["sink"]["params"]["path"] = "x.mkv"
    data["nodes"]["detector"]["params"]["device"] = "cuda:1"
    data["nodes"]["frames"] = {"type": "sink.images"}
    data["links"].append({"from": "merger.frame", "to": "frames.frame"})
    found = targets_of(data)
    assert found.sinks == {"sink": ".mkv", "frames": ""} and found.gpu_nodes == {"detector": "cuda:1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("camera", "reads a camera (node 'source')"),
        ("two_sources", "2 file sources ('source', 'other')"),
        ("no_sink", "no file sink"),
    ],
)
def test_graphs_a_batch_cannot_run_are_refused_by_name(change: str, message: str) -> None:
    data = preset("face_debug.json")
    if change == "camera":
        data = preset("webcam_swap.json")
    elif change == "two_sources":
        data["nodes"]["other"] = {"type": "source.media"}
    else:
        del data["nodes"]["faces"]
        data["links"] = [link for link in data["links"] if not link["to"].startswith("faces.")]
    with pytest.raises(UserError, match=re.escape(message)):
        targets_of(data)


def test_the_fingerprint_ignores_the_paths_a_job_sets_but_not_a_param() -> None:
    data, targets = preset("video_swap.json"), Targets("source", {"sink": ".mp4"})
    base = fingerprint(data, targets)
    data["nodes"]["source"]["params"]["path"] = "a.mp4"
    data["nodes"]["sink"]["params"]["path"] = "b.mp4"
    data["layout"] = {}
    assert fingerprint(data, targets) == base
    data["nodes"]["merger"]["params"]["erode"] = 3
    assert fingerprint(data, targets) != base


def make_tree(root: Path) -> None:
    (root / "seq").mkdir(parents=True)
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "out").mkdir()
    for path in (root / "a.mp4", root / "b.MKV", root / "sub" / "deep" / "c.mov", root / "out" / "old.mp4"):
        path.write_bytes(b"")
    (root / "notes.txt").write_text("not an input")
    for i in range(3):
        (root / "seq" / f"{i:04d}.png").write_bytes(b"")


def test_inputs_from_files_folders_and_globs(tmp_path: Path) -> None:
    make_tree(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in find_inputs([str(tmp_path)], False, tmp_path / "out")]
    assert names == ["a.mp4", "b.MKV", "seq"]  # videos and image folders inside; never the output folder
    deep = find_inputs([str(tmp_path)], True, tmp_path / "out")
    assert [p.relative_to(tmp_path).as_posix() for p in deep] == ["a.mp4", "b.MKV", "seq", "sub/deep/c.mov"]
    assert find_inputs([str(tmp_path / "seq")], False, tmp_path / "o") == [tmp_path / "seq"]  # a sequence itself
    globbed = find_inputs([str(tmp_path / "*.mp4"), str(tmp_path / "a.mp4")], False, tmp_path / "o")
    assert globbed == [tmp_path / "a.mp4"]  # each input once
    for bad, message in [("nothing*.mp4", "matches no file"), ("missing.mp4", "no such file or folder")]:
        with pytest.raises(UserError, match=message):
            find_inputs([str(tmp_path / bad)], False, tmp_path / "o")


def test_jobs_set_the_source_and_a_hidden_output_per_input(tmp_path: Path) -> None:
    make_tree(tmp_path)
    data, targets = preset("video_swap.json"), Targets("source", {"sink": ".mp4"})
    inputs = [tmp_path / "a.mp4", tmp_path / "seq"]
    jobs = plan_jobs("g.json", "{}", data, ["swapper.erode=2"], inputs, tmp_path / "o", targets)
    assert [job.outputs for job in jobs] == [
        {"sink": str(tmp_path / "o" / "a.mp4")},
        {"sink": str(tmp_path / "o/seq.mp4")},
    ]
    assert jobs[0].writing == {"sink": str(tmp_path / "o" / ".a.batch.mp4")}
    assert jobs[0].sets[0] == "swapper.erode=2"
    assert jobs[0].sets[1:] == [f"source.path={json.dumps(str(inputs[0]))}", f'sink.path="{tmp_path}/o/.a.batch.mp4"']
    assert jobs[1].expected == 3  # the images of the folder
    assert writing_path(Path("d/x")) == Path("d/.x.batch") and partial_path(Path("d/x.mp4")) == Path("d/x.partial.mp4")


def test_outputs_that_would_collide_are_refused_with_a_template_to_use(tmp_path: Path) -> None:
    one, two = tmp_path / "day1" / "take.mp4", tmp_path / "day2" / "take.mp4"
    data, mp4 = preset("video_swap.json"), Targets("source", {"sink": ".mp4"})
    with pytest.raises(UserError, match=r"would both write .*--name '\{parent\}_\{stem\}'"):
        plan_jobs("g", "{}", data, [], [one, two], tmp_path, mp4)
    jobs = plan_jobs("g", "{}", data, [], [one, two], tmp_path, mp4, "{parent}_{stem}")
    assert [Path(j.outputs["sink"]).name for j in jobs] == ["day1_take.mp4", "day2_take.mp4"]
    data["nodes"]["copy"] = {"type": "sink.video"}
    two_sinks = Targets("source", {"sink": ".mp4", "copy": ".mp4"})
    with pytest.raises(UserError, match=r"--name '\{sink\}_\{stem\}'"):
        plan_jobs("g", "{}", data, [], [one], tmp_path, two_sinks)
    names = [
        Path(p).name
        for p in plan_jobs("g", "{}", data, [], [one], tmp_path, two_sinks, "{stem}_{sink}")[0].outputs.values()
    ]
    assert names == ["take_sink.mp4", "take_copy.mp4"]
    with pytest.raises(UserError, match=r"--name \{title\}: 'title' is not a field"):
        plan_jobs("g", "{}", data, [], [one], tmp_path, mp4, "{title}")
    with pytest.raises(UserError, match=r"node 'sink' would write .*day1/take.mp4 over an input"):
        plan_jobs("g", "{}", data, [], [one], one.parent, mp4)


def test_the_journal_keeps_the_last_line_of_each_input_and_survives_a_torn_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    data, targets = preset("video_swap.json"), Targets("source", {"sink": ".mp4"})
    job = plan_jobs("g", "{}", data, [], [tmp_path / "a.mp4"], tmp_path / "o", targets)[0]
    journal.append(record(job, "started"))
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write('{"input": "' + job.input + '", "status": "do')  # a batch killed mid-line
    journal.append(record(job, "failed", error="boom"))
    assert journal.read()[job.input]["status"] == "failed"
    assert len(journal.path.read_text().splitlines()) == 3


def write_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:06d}.png"), np.full((8, 8, 3), i, np.uint8))


def test_a_job_is_skipped_only_when_done_with_the_same_graph_and_complete_outputs(tmp_path: Path) -> None:
    data, targets = preset("video_swap.json"), Targets("source", {"frames": ""})
    data["nodes"]["frames"] = {"type": "sink.images"}
    job = plan_jobs("g", "{}", data, [], [tmp_path / "a.mp4"], tmp_path / "out", targets)[0]
    folder = Path(job.outputs["frames"])
    write_images(folder, 5)
    done = record(job, "done", frames=5, output_frames={"frames": 5})
    assert output_frames(folder) == 5 and why_run(job, done) is None
    assert why_run(job, None) == "new"
    assert why_run(job, {**done, "status": "failed"}) == "last failed"
    assert "graph" in str(why_run(job, {**done, "graph": "other"}))
    (folder / "000004.png").unlink()
    assert why_run(job, done) == f"{folder} has 4 frames, the journal says 5"
    lines = tmp_path / "faces.jsonl"
    lines.write_text('{"frame": 0}\n{"frame": 1}\n')
    assert output_frames(lines) == 2 and output_frames(tmp_path / "missing.mp4") == 0


def test_the_summary_names_each_failure_and_counts_every_status() -> None:
    entries = [
        {"input": "/m/a.mp4", "status": "done", "frames": 10, "seconds": 2.0, "outputs": {"sink": "/o/a.mp4"}},
        {"input": "/m/b.mp4", "status": "skipped", "frames": 7, "seconds": None, "outputs": {"sink": "/o/b.mp4"}},
        {"input": "/m/c.mp4", "status": "failed", "frames": 0, "seconds": 0.1, "error": "node 'source': bad\nfile"},
        {"input": "/m/d.mp4", "status": "not run", "outputs": {}},
    ]
    text = summary(entries, 4.0, Path("/o/batch.jsonl"))
    assert "failed   c.mp4       0      0.1  node 'source': bad file" in text
    assert (
        text.splitlines()[-1]
        == "1 done, 1 skipped, 1 failed, 1 not run in 4.0 s, 2.5 frames/s; journal: /o/batch.jsonl"
    )


def test_the_bar_and_the_summary_count_the_jobs_of_each_ray_node() -> None:
    def done(name: str, node: str) -> dict[str, Any]:
        outputs = {"sink": f"/o/{name}"}
        return {"input": f"/m/{name}", "status": "done", "frames": 5, "seconds": 1.0, "outputs": outputs, "node": node}

    entries = [
        done("a.mp4", "10.0.0.7/3f2a9c01"),
        done("b.mp4", "127.0.0.1/77aa0011"),
        done("c.mp4", "10.0.0.7/3f2a9c01"),
    ]
    text = summary(entries, 3.0, Path("/o/batch.jsonl"))
    assert text.splitlines()[-1] == "per node: 10.0.0.7/3f2a9c01 2 done (10 frames), 77aa0011 1 done (5 frames)"
    jobs = plan_jobs_for_view(entries)
    view = BatchView(jobs, 0, enabled=True)
    for entry in entries:
        view.finished(entry)
    assert view.bar.desc.rstrip(": ") == "jobs 3/3 [10.0.0.7/3f2a9c01 2, 77aa0011 1]"  # tqdm adds ": "
    view.close()


def plan_jobs_for_view(entries: list[dict[str, Any]]) -> list[Any]:
    """Stand-ins with what BatchView reads of a job."""

    class Stub:
        def __init__(self, key: str) -> None:
            self.input, self.expected = key, 5

    return [Stub(e["input"]) for e in entries]


def test_default_jobs_follow_the_cores() -> None:
    assert [default_jobs(n) for n in (1, 2, 4, 16)] == [1, 2, 3, 13]  # one job keeps ~1.2 cores busy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--retries", "-1"], "--retries must be 0 or more"),
        (["--set", "source.path=x.mp4"], "the batch sets the source's path"),
        (["--input", "/nonexistent/x.mp4"], "no such file or folder"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "a.mp4").write_bytes(b"")
    base = ["batch", str(PRESETS / "video_swap.json"), "--output", str(tmp_path / "o")]
    base += [] if "--input" in args else ["--input", str(tmp_path / "a.mp4")]
    assert cli.main([*base, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_ray_without_ray_installed_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    monkeypatch.delitem(sys.modules, "nodeswap.cluster.ray_runner", raising=False)
    (tmp_path / "a.mp4").write_bytes(b"")
    graph = tmp_path / "g.json"
    data = preset("video_swap.json")
    data["nodes"]["swapper"]["params"]["source_image"] = str(tmp_path / "a.mp4")
    graph.write_text(json.dumps(data))
    code = cli.main(["batch", str(graph), "--input", str(tmp_path / "a.mp4"), "--output", str(tmp_path / "o"), "--ray"])
    assert code == 2 and 'pip install "nodeswap[ray]"' in capsys.readouterr().err
