"""The param values of each built-in node, typed: ``self.values["threshold"]`` is checked by mypy, and the
registry refuses a node class whose values type and params disagree (nodeswap.registry). Add a param: add
it to the node's ``params`` and to its values type here."""

from __future__ import annotations

from typing import TypedDict


class CameraSourceValues(TypedDict):
    device: int
    backend: str
    resolution: str
    fps: float
    rotation: str
    flip: bool
    restore_settings: bool
    settings_dialog: int
    save_settings: int
    load_settings: int


class CompareValues(TypedDict):
    mode: str
    position: float
    line: bool


class DFMSwapperValues(TypedDict):
    model: str
    morph_factor: float
    pre_sharpen: float
    pre_gamma_r: float
    pre_gamma_g: float
    pre_gamma_b: float
    post_gamma_r: float
    post_gamma_g: float
    post_gamma_b: float
    two_pass: bool
    device: str


class DelayValues(TypedDict):
    ms: int


class FaceAlignerValues(TypedDict):
    align_mode: str
    template: str
    coverage: float
    resolution: int
    x_offset: float
    y_offset: float
    exclude_moving_parts: bool
    head_mode: bool
    freeze_z_rotation: bool


class FaceAnimatorValues(TypedDict):
    device: str
    animatable: str
    animator_face_id: int
    relative_power: float
    reset_reference_pose: int


class FaceDataSinkValues(TypedDict):
    path: str


class FaceDetectorValues(TypedDict):
    device: str
    model: str
    threshold: float
    nms_iou: float
    max_faces: int
    min_size: int
    window: int
    sort_by: str
    smoothing: bool
    min_cutoff: float
    beta: float
    temporal_smoothing: int
    track_ids: bool
    every_n: int


class FaceMarkerValues(TypedDict):
    device: str
    model: str
    coverage: float
    smoothing: bool
    min_cutoff: float
    beta: float
    shape_cutoff: float
    temporal_smoothing: int


class FaceMergerValues(TypedDict):
    mask_hull: bool
    mask_swap: bool
    mask_target: bool
    mask_box: bool
    erode: int
    blur: int
    color_transfer: str
    opacity: float
    face_x_offset: float
    face_y_offset: float
    face_scale: float
    interpolation: str
    poisson: bool
    keep_mouth: bool
    color_compression: float
    compression_levels: str


class FaceOverlayValues(TypedDict):
    boxes: bool
    labels: bool
    keypoints: bool
    landmarks: bool
    pose: bool
    crops: bool
    color: str
    thickness: int


class FaceSelectorValues(TypedDict):
    mode: str
    indices: str
    reference: str
    threshold: float
    max_matches: int
    device: str


class FaceViewValues(TypedDict):
    face: int
    show: str
    size: int


class FacesetSinkValues(TypedDict):
    path: str
    resolution: int
    jpeg_quality: int
    every_n: int
    min_face_size: int
    max_yaw: float
    min_sharpness: float
    min_change: float


class FrameAdjustValues(TypedDict):
    median_blur: float
    degrade: float


class ImageSequenceSinkValues(TypedDict):
    path: str
    format: str
    quality: int
    digits: int
    fill_gaps: bool


class InSwapperValues(TypedDict):
    source: str
    model: str
    recognizer: str
    alignment: str
    source_crop: str
    match_c: float
    match_x: float
    match_y: float
    device: str


class MediaSourceValues(TypedDict):
    path: str
    loop: bool
    auto_rewind: bool
    start: int
    end: int
    fps: float
    width: int
    real_time: bool


class MorphSwapValues(TypedDict):
    source_image: str
    device: str
    resolution: int
    coverage: float
    mouth_from_target: bool
    mouth_grow: float
    likeness: float
    eyes: str
    eye_grow: float
    shape: float
    width: float
    skin_only: bool
    colour: str
    colour_amount: float
    light_radius: float
    edge_match: float
    forehead: float
    edge_blur: float
    min_visible: float
    opacity: float


class PreviewSinkValues(TypedDict):
    window: bool
    title: str


class StreamSinkValues(TypedDict):
    address: str
    port: int
    bitrate: int
    codec: str


class VideoSinkValues(TypedDict):
    path: str
    crf: int
    preset: str
    audio: bool
    fill_gaps: bool


class VirtualCameraSinkValues(TypedDict):
    backend: str
    device: str
    fps: float
