"""One place for every check of a graph (nodeswap/validate.py): caps at link time, in files, after a param
change, and before a run; all with messages that name both sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nodeswap import graph_io
from nodeswap.errors import GraphError, LinkError
from nodeswap.graph import Graph
from nodeswap.plan import compile_plan
from nodeswap.validate import caps_issues, output_caps, run_issues

ROOT = Path(__file__).resolve().parent.parent
NEEDS_468 = "swapper.faces needs landmarks=468; marker.faces gives landmarks=68 (model pfld68)"


def swap_chain(model: str = "facemesh") -> Graph:
    """source -> detector -> marker -> morph swap -> merger -> video sink, as video_swap.json wires them."""
    g = Graph()
    g.add_node("source.media", "source")
    g.add_node("detect.face", "detector")
    g.add_node("mark.face", "marker", {"model": model})
    g.add_node("swap.morph", "swapper")
    g.add_node("merge.faces", "merger")
    g.add_node("sink.video", "sink")
    for src, dst in (("source", "detector"), ("source", "marker"), ("source", "swapper"), ("source", "merger")):
        g.link(src, "frame", dst, "frame")
    g.link("detector", "faces", "marker", "faces")
    g.link("marker", "faces", "swapper", "faces")
    g.link("swapper", "faces", "merger", "faces")
    g.link("merger", "frame", "sink", "frame")
    return g


def test_a_68_point_marker_cannot_feed_the_morph_swap() -> None:
    g = swap_chain()
    g.remove_node("swapper")
    g.add_node("swap.morph", "swapper")
    g.set_param("marker", "model", "pfld68")
    with pytest.raises(LinkError) as refused:
        g.link("marker", "faces", "swapper", "faces")
    assert str(refused.value) == NEEDS_468
    g.set_param("marker", "model", "facemesh")
    g.link("marker", "faces", "swapper", "faces")  # 468 points: accepted


def test_caps_follow_the_faces_through_the_nodes_that_forward_them() -> None:
    g = swap_chain()
    assert output_caps(g, "marker", "faces")["landmarks"].value == "468"
    caps = output_caps(g, "swapper", "faces")  # the swap forwards the marker's landmarks and adds its own
    assert caps["landmarks"].value == "468" and caps["landmarks"].node == "marker"
    assert caps["swapped"].value == "yes"
    assert "landmarks" not in output_caps(g, "detector", "faces")


def test_a_param_change_that_breaks_a_link_is_reported_the_same_way() -> None:
    g = swap_chain()
    assert caps_issues(g) == []
    g.set_param("marker", "model", "pfld68")  # allowed: the editor shows the broken link instead
    assert [i.message for i in caps_issues(g)] == [NEEDS_468]
    assert NEEDS_468 in [i.message for i in run_issues(g)]
    with pytest.raises(GraphError, match="needs landmarks=468"):
        compile_plan(g)  # and a run refuses it, instead of passing every face through unchanged


def test_a_merger_needs_swapped_faces() -> None:
    g = swap_chain()
    g.remove_node("swapper")
    with pytest.raises(LinkError, match=r"merger\.faces needs swapped=yes; marker\.faces gives no swapped"):
        g.link("marker", "faces", "merger", "faces")


def test_a_file_with_the_broken_link_loads_with_the_issue(tmp_path: Path) -> None:
    data = json.loads((ROOT / "graphs" / "video_swap.json").read_text())
    data["nodes"]["marker"]["params"]["model"] = "pfld68"
    graph, issues = graph_io.build(data, check_files=False)
    assert [i.message for i in issues] == [NEEDS_468]
    assert any(link.dst == "swapper" and link.dst_port == "faces" for link in graph.links)  # shown, to mend


def test_validate_refuses_it_with_exit_2(tmp_path: Path) -> None:
    data = json.loads((ROOT / "graphs" / "video_swap.json").read_text())
    data["nodes"]["marker"]["params"]["model"] = "pfld68"
    path = tmp_path / "pfld68_morph.json"
    path.write_text(json.dumps(data))
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"link marker.faces -> swapper.faces: {NEEDS_468}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("preset", sorted(p.name for p in (ROOT / "graphs").glob("*.json")))
def test_every_preset_meets_its_caps(preset: str) -> None:
    graph, issues = graph_io.build(json.loads((ROOT / "graphs" / preset).read_text()), check_files=False)
    assert caps_issues(graph) == [] and not [i for i in issues if "needs" in i.message]


def test_run_issues_come_in_the_order_the_nodes_run() -> None:
    """The editor opens the first problem's node: the source's empty path before the sink's."""
    where = [i.where for i in run_issues(swap_chain()) if " model '" not in i.where]  # models: if not here
    assert where == ["node 'source' param 'path'", "node 'swapper' param 'source_image'", "node 'sink' param 'path'"]


def test_run_issues_name_every_missing_model_of_each_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: with no model on this machine, each node that runs names each model it needs, after the
    params, with the editor's fix (its Download button) or the command line's."""
    from nodeswap import models

    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path))
    monkeypatch.setattr(models, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path / "cache")
    issues = run_issues(swap_chain(), editor=True)
    found = [i.where for i in issues if " model '" in i.where]
    assert "node 'detector' model 'yunet_dynamic'" in found and len(found) == len(set(found)) >= 2
    assert all("press 'Download" in i.message for i in issues if " model '" in i.where)
    assert all("models fetch" in i.message for i in run_issues(swap_chain()) if " model '" in i.where)
