"""Face debug overlay: boxes, track ids, scores, keypoints, landmarks, pose and crops drawn on the frame."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from nodeswap.node import Node, Param, Port
from nodeswap.nodes.values import FaceOverlayValues
from nodeswap.types import FACES, FRAME, Face, Frame

# Keypoint colours (BGR): eyes blue, nose green, mouth corners red.
_KPS_COLOURS = ((255, 80, 0), (255, 80, 0), (0, 220, 0), (0, 0, 255), (0, 0, 255))


def hex_to_bgr(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


def _label(face: Face) -> str:
    return f"#{face.track_id} {face.score:.2f}"


def text_scale(frame_width: int, face_width: int) -> float:
    """Label size (0.5 x this is the font scale): with the face, and at least 1/520 of the frame's width, so a
    label stays readable where the frame is shown small (the editor's preview, about 400 px wide)."""
    return max(0.4, min(1.2, face_width / 200), frame_width / 520)


def draw_face(
    image: np.ndarray, face: Face, colour: tuple[int, int, int], thickness: int, v: FaceOverlayValues
) -> None:
    """Draw one face's debug marks on ``image`` in place."""
    x1, y1, x2, y2 = (round(c) for c in face.box)
    scale = text_scale(image.shape[1], x2 - x1)
    if v["boxes"]:
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
    if v["crops"] and face.aligned is not None:
        size = face.aligned.size
        corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64)
        points = corners @ face.aligned.inverse[:, :2].T + face.aligned.inverse[:, 2]
        cv2.polylines(image, [np.round(points).astype(np.int32)], True, (0, 200, 255), thickness, cv2.LINE_AA)
    if v["landmarks"] and face.landmarks is not None:
        radius = max(1 if len(face.landmarks) > 100 else 2, round(image.shape[1] / 900))
        for x, y in np.round(np.asarray(face.landmarks)[:, :2]).astype(int):
            cv2.circle(image, (int(x), int(y)), radius, (255, 255, 255), -1)
    if v["keypoints"] and face.kps is not None:
        for (x, y), kp_colour in zip(np.round(face.kps).astype(int), _KPS_COLOURS, strict=False):
            cv2.circle(image, (int(x), int(y)), max(2, thickness + 1), kp_colour, -1, cv2.LINE_AA)
    lines = []
    if v["labels"]:
        lines.append(_label(face))
    if v["pose"] and face.pose is not None:
        lines.append("yaw {:.0f} pitch {:.0f} roll {:.0f}".format(*face.pose))
    for row, text in enumerate(reversed(lines)):
        y = y1 - 6 - row * int(22 * scale)
        origin = (x1, max(y, 12))
        weight = max(1, round(scale))
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), weight + 2, cv2.LINE_AA)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, colour, weight, cv2.LINE_AA)


class FaceOverlay(Node):
    """Draws the faces' boxes, track ids and scores, keypoints, landmarks, pose and crop outlines on the frame."""

    type_id = "utility.overlay"
    key_params = ("labels", "landmarks")
    values: FaceOverlayValues
    title = "Face debug overlay"
    category = "utility"
    inputs = (Port("frame", FRAME, "the frame to draw on"), Port("faces", FACES, "the faces to show"))
    outputs = (Port("frame", FRAME, "the frame with the drawing"),)
    params = (
        Param("boxes", "bool", True, help="Face boxes"),
        Param("labels", "bool", True, help="Track id and score above each box"),
        Param("keypoints", "bool", True, help="The 5 keypoints (eyes blue, nose green, mouth red)"),
        Param("landmarks", "bool", True, help="Landmarks (white dots)"),
        Param("pose", "bool", True, help="Yaw, pitch and roll in degrees"),
        Param("crops", "bool", False, help="Outline of each aligned crop (orange)"),
        Param("color", "color", "#00ff00", help="Colour of boxes and labels"),
        Param("thickness", "int", 2, min=1, max=8, help="Line thickness in pixels"),
    )

    def process(self, frame: Frame, faces: tuple[Face, ...]) -> dict[str, Any]:
        image = frame.image.copy()
        colour = hex_to_bgr(self.values["color"])
        for face in faces:
            draw_face(image, face, colour, int(self.values["thickness"]), self.values)
        return {"frame": replace(frame, image=image)}


NODE_TYPES = [FaceOverlay]
