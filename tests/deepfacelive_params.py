"""DeepFaceLive's user controls, stage by stage, and where each one lives in nodeswap.

Written from DeepFaceLive's source (iperov/DeepFaceLive apps/DeepFaceLive/backend/*.py: each backend's control
sheet and the defaults and ranges its worker sets). tests/test_deepfacelive_parity.py checks every row against
``run.py nodes --json``, and ``python -m tests.deepfacelive_params`` writes docs/DEEPFACELIVE.md from it.

A row without a note must match exactly: same default, same range, every DeepFaceLive choice offered. A row
with a note is a documented mapping: the note says how the value carries over.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Control:
    stage: str  # DeepFaceLive's backend
    name: str  # its control
    default: Any = None  # None: nothing chosen until the user picks (a device, a file) or a button
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    ours: str = ""  # "node.type param" it maps to; empty: an editor feature, said in the note
    choice_map: dict[str, str] = field(default_factory=dict)  # DeepFaceLive's choice -> ours, where they differ
    note: str = ""


def _c(
    stage: str, name: str, default: Any = None, low: float | None = None, high: float | None = None, **kw: Any
) -> Control:
    return Control(stage, name, default, low, high, **kw)


CAMERA, FILE, DETECT, MARK, ALIGN = "CameraSource", "FileSource", "FaceDetector", "FaceMarker", "FaceAligner"
DFM, INSIGHT, ANIMATE, ADJUST = "FaceSwapDFM", "FaceSwapInsight", "FaceAnimator", "FrameAdjuster"
MERGE, STREAM = "FaceMerger", "StreamOutput"
DEVICE_NOTE = "onnxruntime device: auto picks CUDA, DirectML or CPU; a device by name as in DeepFaceLive's list"

CONTROLS: tuple[Control, ...] = (
    # -- camera
    _c(
        CAMERA,
        "driver",
        "COMPATIBLE",
        choices=("COMPATIBLE", "DSHOW", "MSMF", "GSTREAMER"),
        ours="source.camera backend",
        choice_map={"COMPATIBLE": "auto", "DSHOW": "DirectShow"},
        note="Compatible is auto (OpenCV picks); DeepFaceLive's Windows default is DirectShow: choose it there",
    ),
    _c(
        CAMERA,
        "device_idx",
        None,
        0,
        15,
        ours="source.camera device",
        note="index 0-63; the editor lists the cameras found",
    ),
    _c(
        CAMERA,
        "resolution",
        "640x480",
        choices=("320x240", "640x480", "720x480", "1280x720", "1280x960", "1366x768", "1920x1080"),
        ours="source.camera resolution",
    ),
    _c(CAMERA, "fps", 0.0, 0.0, 240.0, ours="source.camera fps"),
    _c(
        CAMERA,
        "rotation",
        "0 degrees",
        choices=tuple(f"{d} degrees" for d in (0, 90, 180, 270)),
        ours="source.camera rotation",
        choice_map={f"{d} degrees": str(d) for d in (0, 90, 180, 270)},
    ),
    _c(CAMERA, "flip_horizontal", False, ours="source.camera flip"),
    _c(
        CAMERA,
        "open_settings",
        ours="source.camera settings_dialog",
        note="a button; the driver's own dialog (DirectShow on Windows)",
    ),
    _c(
        CAMERA,
        "save_settings",
        ours="source.camera save_settings",
        note="a button; kept per camera (backend and index) in the user's config folder",
    ),
    _c(
        CAMERA,
        "load_settings",
        ours="source.camera load_settings",
        note="a button; restore_settings (on) also applies them whenever the camera opens",
    ),
    # -- file
    _c(FILE, "input_type", ours="source.media path", note="one path: a video, an image or a folder of images"),
    _c(FILE, "input_paths", ours="source.media path", note="the file or folder, typed or chosen in a file dialog"),
    _c(FILE, "target_width", 0, 0, 4096, ours="source.media width", note="the same; up to 7680"),
    _c(FILE, "fps", 0.0, 0.0, 240.0, ours="source.media fps"),
    _c(FILE, "is_realtime", True, ours="source.media real_time"),
    _c(
        FILE,
        "is_autorewind",
        True,
        ours="source.media auto_rewind",
        note="live runs; loop also rewinds in renders (which then never end)",
    ),
    _c(FILE, "frame_index", note="the inspector's seek bar and frame slider on a selected Media file node"),
    _c(FILE, "play / pause / seek", note="the Run menu (Run live, Pause, Step) and the seek bar's buttons"),
    # -- detector
    _c(
        DETECT,
        "detector_type",
        "YOLOV5",
        choices=("CENTER_FACE", "S3FD", "YOLOV5"),
        ours="detect.face model",
        choice_map={"CENTER_FACE": "centerface", "S3FD": "s3fd", "YOLOV5": "yolov5face"},
        note="nodeswap defaults to YuNet (the same recall on the test photos, faster: benchmarks/README.md); "
        "five more models",
    ),
    _c(DETECT, "device", ours="detect.face device", note=DEVICE_NOTE),
    _c(DETECT, "fixed_window_size", 480, 0, 4096, ours="detect.face window"),
    _c(DETECT, "threshold", 0.5, 0.01, 1.0, ours="detect.face threshold"),
    _c(DETECT, "max_faces", 1, 0, 256, ours="detect.face max_faces"),
    _c(
        DETECT,
        "sort_by",
        "LARGEST",
        choices=("LARGEST", "DIST_FROM_CENTER", "LEFT_RIGHT", "RIGHT_LEFT", "TOP_BOTTOM", "BOTTOM_TOP"),
        ours="detect.face sort_by",
        choice_map={
            "LARGEST": "largest",
            "DIST_FROM_CENTER": "distance from centre",
            "LEFT_RIGHT": "left to right",
            "RIGHT_LEFT": "right to left",
            "TOP_BOTTOM": "top to bottom",
            "BOTTOM_TOP": "bottom to top",
        },
    ),
    _c(
        DETECT,
        "temporal_smoothing",
        1,
        1,
        150,
        ours="detect.face temporal_smoothing",
        note="the same average; nodeswap's One-Euro smoothing (smoothing, on by default) lags less: turn it off "
        "for DeepFaceLive's exact behaviour",
    ),
    # -- marker
    _c(
        MARK,
        "marker_type",
        "GOOGLE_FACEMESH",
        choices=("OPENCV_LBF", "GOOGLE_FACEMESH", "INSIGHT_2D106"),
        ours="mark.face model",
        choice_map={"OPENCV_LBF": "pfld68", "GOOGLE_FACEMESH": "facemesh", "INSIGHT_2D106": "pfld106"},
        note="68 points come from PFLD instead of OpenCV LBF, 106 from PFLD-106 instead of InsightFace 2D106",
    ),
    _c(MARK, "device", ours="mark.face device", note=DEVICE_NOTE),
    _c(
        MARK,
        "marker_coverage",
        1.4,
        0.1,
        3.0,
        ours="mark.face coverage",
        note="0 (the default) = the model's own: facemesh 1.4 as in DeepFaceLive, pfld68 1.2, pfld106 1.0",
    ),
    _c(
        MARK,
        "temporal_smoothing",
        1,
        1,
        150,
        ours="mark.face temporal_smoothing",
        note="the same average (relative to the face's box); One-Euro smoothing is on by default",
    ),
    # -- aligner
    _c(
        ALIGN,
        "align_mode",
        "FROM_POINTS",
        choices=("FROM_RECT", "FROM_POINTS", "FROM_STATIC_RECT"),
        ours="align.face align_mode",
        choice_map={"FROM_RECT": "from rect", "FROM_POINTS": "from points", "FROM_STATIC_RECT": "from static rect"},
    ),
    _c(ALIGN, "face_coverage", 2.2, 0.1, 8.0, ours="align.face coverage"),
    _c(ALIGN, "resolution", 224, 16, 1024, ours="align.face resolution"),
    _c(ALIGN, "exclude_moving_parts", True, ours="align.face exclude_moving_parts"),
    _c(ALIGN, "head_mode", False, ours="align.face head_mode"),
    _c(ALIGN, "freeze_z_rotation", False, ours="align.face freeze_z_rotation"),
    _c(ALIGN, "x_offset", 0.0, -10.0, 10.0, ours="align.face x_offset"),
    _c(ALIGN, "y_offset", 0.0, -10.0, 10.0, ours="align.face y_offset"),
    # -- DFM swapper
    _c(DFM, "device", ours="swap.dfm device", note=DEVICE_NOTE),
    _c(
        DFM,
        "model",
        ours="swap.dfm model",
        note="DeepFaceLive's 31 public models by name (downloaded on demand) or any .dfm in the model folders",
    ),
    _c(
        DFM,
        "swap_all_faces",
        False,
        ours="detect.face max_faces",
        note="the swapper swaps the faces it is given: the detector's max_faces (1) or a Face selector chooses them",
    ),
    _c(DFM, "face_id", 0, 0, 999, ours="select.faces indices", note="a Face selector in index mode before the swapper"),
    _c(DFM, "morph_factor", 0.75, 0.0, 1.0, ours="swap.dfm morph_factor"),
    _c(DFM, "presharpen_amount", 0.0, 0.0, 10.0, ours="swap.dfm pre_sharpen"),
    *(_c(DFM, f"pre_gamma_{c}", 1.0, 0.01, 4.0, ours=f"swap.dfm pre_gamma_{c[0]}") for c in ("red", "green", "blue")),
    _c(DFM, "post_gamma_red", 1.0, 0.01, 4.0, ours="swap.dfm post_gamma_r"),
    _c(
        DFM,
        "post_gamma_green",
        1.0,
        0.01,
        4.0,
        ours="swap.dfm post_gamma_b",
        note="DeepFaceLive's green slider acts on blue (its call swaps the two): the same picture is post_gamma_b",
    ),
    _c(
        DFM,
        "post_gamma_blue",
        1.0,
        0.01,
        4.0,
        ours="swap.dfm post_gamma_g",
        note="DeepFaceLive's blue slider acts on green: the same picture is post_gamma_g",
    ),
    _c(DFM, "two_pass", False, ours="swap.dfm two_pass"),
    # -- InsightFace swapper
    _c(INSIGHT, "device", ours="swap.inswapper device", note=DEVICE_NOTE),
    _c(INSIGHT, "face", ours="swap.inswapper source", note="a photo's path instead of a file in DeepFaceLive's folder"),
    _c(INSIGHT, "update_faces", note="the file dialog lists the folder afresh each time"),
    _c(
        INSIGHT,
        "adjust_c",
        1.55,
        1.0,
        2.0,
        ours="swap.inswapper match_c",
        note="used with source_crop = match; the default crop is insightface's own (arcface)",
    ),
    _c(INSIGHT, "adjust_x", 0.0, -0.5, 0.5, ours="swap.inswapper match_x", note="with source_crop = match"),
    _c(INSIGHT, "adjust_y", -0.15, -0.5, 0.5, ours="swap.inswapper match_y", note="with source_crop = match"),
    _c(
        INSIGHT,
        "animator_face_id",
        0,
        0,
        16,
        ours="select.faces indices",
        note="the swapper swaps the faces it is given: a Face selector (index mode) or the detector's max_faces",
    ),
    # -- face animator
    _c(ANIMATE, "device", ours="swap.animate device", note=DEVICE_NOTE),
    _c(ANIMATE, "animatable", ours="swap.animate animatable", note="a photo's path instead of a file in the folder"),
    _c(ANIMATE, "update_animatables", note="the file dialog lists the folder afresh each time"),
    _c(ANIMATE, "animator_face_id", 0, 0, 16, ours="swap.animate animator_face_id"),
    _c(ANIMATE, "relative_power", 1.0, 0.0, 2.0, ours="swap.animate relative_power"),
    _c(ANIMATE, "reset_reference_pose", ours="swap.animate reset_reference_pose", note="a button, as there"),
    # -- frame adjuster
    _c(ADJUST, "median_blur_per", 0.0, 0.0, 100.0, ours="filter.adjust median_blur"),
    _c(ADJUST, "degrade_bicubic_per", 0.0, 0.0, 100.0, ours="filter.adjust degrade"),
    # -- merger
    _c(MERGE, "device", "CPU", ours="", note="the merge runs on the CPU only (no OpenCL path)"),
    _c(MERGE, "face_x_offset", 0.0, -0.5, 0.5, ours="merge.faces face_x_offset"),
    _c(MERGE, "face_y_offset", 0.0, -0.5, 0.5, ours="merge.faces face_y_offset"),
    _c(MERGE, "face_scale", 1.0, 0.5, 1.5, ours="merge.faces face_scale"),
    _c(MERGE, "face_mask_source", True, ours="merge.faces mask_target"),
    _c(MERGE, "face_mask_celeb", True, ours="merge.faces mask_swap"),
    _c(MERGE, "face_mask_lmrks", False, ours="merge.faces mask_hull"),
    _c(MERGE, "face_mask_erode", 5, -400, 400, ours="merge.faces erode"),
    _c(MERGE, "face_mask_blur", 25, 0, 400, ours="merge.faces blur"),
    _c(MERGE, "color_transfer", "rct", choices=("none", "rct"), ours="merge.faces color_transfer"),
    _c(
        MERGE,
        "interpolation",
        "bilinear",
        choices=("bilinear", "bicubic", "lanczos4"),
        ours="merge.faces interpolation",
        choice_map={"lanczos4": "lanczos"},
    ),
    _c(
        MERGE,
        "color_compression",
        1.0,
        0.0,
        127.0,
        ours="merge.faces color_compression",
        note="the same: its levels on the whole frame when a face was merged, each lifted by 2 / c as there "
        "(about 1% brighter); compression_levels = centred keeps the brightness",
    ),
    _c(MERGE, "face_opacity", 1.0, 0.0, 1.0, ours="merge.faces opacity"),
    # -- stream output
    _c(
        STREAM,
        "source_type",
        ours="utility.face_view show",
        note="wire what to show into the sink: the merged frame, the source frame, a Face view (aligned or swapped "
        "face, masks) or a Compare node (source and merged side by side)",
    ),
    _c(STREAM, "aligned_face_id", 0, 0, 16, ours="utility.face_view face", note="the same; up to 64"),
    _c(STREAM, "target_delay", 500, 0, 5000, ours="utility.delay ms"),
    _c(STREAM, "show_hide_window", ours="sink.preview window", note="a checkbox; the editor's preview always shows"),
    _c(STREAM, "save_sequence_path", ours="sink.images path", note="an Image sequence sink (png or jpg)"),
    _c(STREAM, "save_fill_frame_gap", True, ours="sink.images fill_gaps"),
    _c(STREAM, "is_streaming", False, ours="sink.stream address", note="add a Network stream sink to stream"),
    _c(STREAM, "stream_addr", "127.0.0.1", ours="sink.stream address"),
    _c(STREAM, "stream_port", 1234, 1, 9999, ours="sink.stream port", note="the same; any port up to 65535"),
)


def _value(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


MEASURED = [
    "## Measured against DeepFaceLive's own results",
    "",
    "The same inputs given to DeepFaceLive's code and to nodeswap's nodes; the difference of the results. Aligner",
    "and merger: DeepFaceLive's own FaceAligner and FaceMerger output on 32 frames of four real clips",
    "(`media/dfl_reference`, `tests/test_dfl_aligner.py`, `tests/test_dfl_merger.py`). DFM swapper: DeepFaceLive's",
    "FaceSwapDFM steps written out in `tests/test_dfl_swapper.py`, on real aligned crops, with models of the .dfm",
    "signature of 96, 128, 224 and 320 px and one that `nodeswap train` exports.",
    "",
    "| stage | settings | difference to DeepFaceLive | tolerance |",
    "|---|---|---|---|",
    "| aligner (`align.face`) | defaults, head mode, offsets, freeze Z, all points, res 320 / coverage 1.8 "
    "| crop corners within 0.0002% of the face size; crops 0.08 mean absolute (0-255) at most | 0.5%; 1.0 |",
    "| aligner, beside DeepFaceLive's own code (`benchmarks/dfl_aligner_fuzz.py`) | 768 random faces: 468, 106 and "
    "68 points, every align mode, random coverage, resolution, offsets, head mode, freeze Z | crop corners within "
    "0.022% of the face size; crops 0.006 mean absolute at most | 0.5%; 1.0 |",
    "| merger (`merge.faces`) | defaults, no colour transfer, opacity 0.5, erode -10 / blur 50, blur 100, "
    "bicubic, landmark mask only, no colour compression | 0.027-0.066 mean absolute inside the face (0.066 at "
    "most) | 1.0 |",
    "| merger, beside DeepFaceLive's CPU merge written out in `tests/test_dfl_merger.py` | offsets and scale, "
    "lanczos4, each mask alone, all, none, erode 3 / 7, blur 0 / 9, colour compression 60 / 127, two faces "
    "| 0.008 mean absolute over the frame, 0.051 inside the face at most (6 frames) | 0.05; 1.0 |",
    "| DFM swapper (`swap.dfm`) | defaults, morph, pre-sharpen, pre-gamma, post-gamma, two pass, all at once; "
    "models of 96 (with 192 px outputs), 128, 224, 320 px and a trainer export; 224 and 320 px crops "
    "| 0 (the same bytes) for the face and both masks | 0.01 |",
    "| face animator (`swap.animate`) | defaults | the same on the same crop (an independent run of DeepFaceLive) "
    "| - |",
    "",
    "Deliberate differences:",
    "",
    "- **InsightFace swapper** (`swap.inswapper`): nodeswap follows insightface's own conventions for",
    "  inswapper_128 and w600k_r50 (RGB input; the target cut with insightface's 128 template from the five",
    "  keypoints: `alignment` = own, the default), as insightface's reference code runs them. DeepFaceLive feeds",
    "  BGR and x/255 and the aligner's crop; `alignment` = upstream takes the aligner's crop instead (still RGB).",
    "- **Colour compression** (`merge.faces`): as DeepFaceLive, only frames with a merged face are compressed;",
    "  `compression_levels` = centred puts each level at its middle instead of lifting it by 2 / c.",
    "- **Sampling**: like DeepFaceLive's, the aligner's crop is bilinear with a black border outside the frame.",
    "",
]


def markdown() -> str:
    """docs/DEEPFACELIVE.md."""
    lines = [
        "# Coming from DeepFaceLive",
        "",
        "Every control of DeepFaceLive's pipeline and where it lives in nodeswap: the node type and its param.",
        "Values tuned in DeepFaceLive carry over: a row without a note has the same default, range and meaning.",
        "DeepFaceLive's pipeline is the `webcam_swap.json`, `dfm_swap.json`, `inswapper_swap.json` and",
        "`animate_photo.json` presets: camera or file -> detector -> marker -> aligner -> swapper -> merger -> sink.",
        "",
        "This table is generated from `tests/deepfacelive_params.py` (`python -m tests.deepfacelive_params`),",
        "and a test checks each row against `python run.py nodes --json`.",
        "",
        *MEASURED,
    ]
    stage = ""
    for row in CONTROLS:
        if row.stage != stage:
            stage = row.stage
            lines += [
                "",
                f"## {stage}",
                "",
                "| DeepFaceLive | default | range | nodeswap | note |",
                "|---|---|---|---|---|",
            ]
        span = (
            ", ".join(row.choices)
            if row.choices
            else (f"{_value(row.low)} .. {_value(row.high)}" if row.low is not None else "")
        )
        ours = f"`{row.ours.replace(' ', '.')}`" if row.ours else "(editor)"
        lines.append(f"| {row.name} | {_value(row.default)} | {span} | {ours} | {row.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
