"""DeepFaceLive's "from points" face cut (its FaceAligner), reproduced for the same landmarks.

The facts, from DeepFaceLive's source (xlib/face/FLandmarks2D.py calc_cut, xlib/face/FPose.py,
apps/DeepFaceLive/backend/FaceAligner.py):
- 468 FaceMesh points are fitted (Umeyama, points onto template) to its uniform template, without its moving
  parts when exclude_moving_parts is on; 106 points are first averaged pairwise into 68; 68 points are fitted by
  their brows, nose, eye corners and mouth corners.
- The crop is a square about the template square's centre: its half-diagonal is coverage x the centre-to-corner
  distance, along the template square's diagonals. x/y offsets move the centre along the template square's sides
  (the aligner passes y_offset - 0.08). Head mode adds 1 to coverage and -0.5 to y_offset.
- Head mode and freeze Z rotation move the centre by -yaw |tanh(2 yaw)| / 2 sideways, with the yaw read from
  FaceMesh's 3D points and doubled (FPose); faces without 3D points get no shift. Freeze Z cuts an upright square
  of the same area.
- The crop is sampled bilinearly with a black border.
The template numbers below are DeepFaceLive's published data; the code is this project's.
"""

from __future__ import annotations

import base64
import math

import numpy as np

from .align import MEAN_FACE, invert, transform_points, umeyama


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(word) for word in text.split())


# DeepFaceLive's uniform 468-point template (xlib/face/FLandmarks2D.py, uni_landmarks_468, the second and final
# definition in that file): float32 little-endian pairs (x, y), base64.
_UNI_468 = (
    "Czj7PqGgNj/WGPs+3fgGPwQj+z4B3x8/ibnqPpN2yT6hLfs+WH/7Pu/p+j4SRuE+pmj6PnQXiT6GDPA9sANuPgup+j5ZlOI9Q5/6PvHSED2XZfo+"
    "mquBvkdI+z6w1zw/6kv7Pky8Qj/eUvs+drBIP19J+z7BBEo/sU37PkzaTj8lU/s+c/RUP0ta+z5k9Fw/Lmr7PkMTcT9Y7vo+UgAOP7VR4z7a+hI/"
    "lrpXvqE3DTwkNoE+LgeRPncgUT5OM5Q+gPYePnQCkT6Qd7k9vz59PnQXmj6fqIs+6ahcPkUlKz6V44Q+ZdAuPkOmLT7nITE+UM0GPv2tPD6kMzA9"
    "sFWSPqv8nT6JgIY/3R/NPZCsZD6ZuFS+9rWIPkbOxby5vYA+XXNwPusmAT8Qm+E++q41P4XV4z70MUM/A53EPhfOOD/0yq0+pgw9PyBCzj54hEM/"
    "Fam6PmFdRD8f64k+p99YP5UF7z4MDAc/fLTtPuK8+z7ZXnc9u7TrPTZOoT6PV7o+Jma7PheKBz96sbM+Z8wAP6R+wj0cJgA/sejrPqKC4j7E6E0+"
    "SvxwPXTeAz61WZ49yijGvZ6yyb3RH8s+UmO/PX4hmT5T6zw+wpJuPiXRSj8+Oo2+IilaP+4oxz5AgxI/+jTUPgfuFz9QOJA+0tpJPzmrmT62nUk/"
    "E4DBPXJCIj0n1LQ+Py0OPw8lkz7TV2U9ooyQPg9zMDzx5kI+gtNrvhn3MDzV7/28siF/PuL9272qnis8Y6G1PSMit71XDFU9dqfiPgLZPD98Bcs+"
    "xOw9P8sxtT57YEA/kYDJPo3LFT+bx5U+e4JJP+xZoz5TNE8/3d2jPmd+ST+T1dY+6mELP3HXvD6EwEg/vOrPPkG8SD+e+OQ+jbdIP4Vv3D7lHHA/"
    "G0TiPuSdXD+67OI+cUhUP33v4j7VR04/B9fiPjcKSj+j7bk+WhNKPyyduD4p000/GJ61PneYUT80OrE+vFNVPz6Alz6o1TA/Jue9vo4MDT8QDPs+"
    "5ckVP4WNrD6CJEo//VGpPi0PTT+VMt4+Q4QfP30GtT6Lfxg/EqbZPhoBHD/J7YY+ePDKPpTGST7Ajt8+Ne6qPifOBj+0GgQ9j804vjbH8j3LxK69"
    "fug7Ps84RzxqN6A+A29iP/e/xT77das8Wce6PugM4b0Ht6o+HLR/vrBq7T25goc+aLkDvISzqD5FtKs+tVSHPgZRcz37KUA+oEm5PjCvqj5WL8w+"
    "/TkCPxrdor0Y27w+skYtPZprvD6+GOQ9Qd7FPmCERj4Uer8+zNWDPqkqsz5hOJ8+ZeqlPg9y5T66bo0+ult3va0O+T4Q9ho8YHo0PsCu8j7Nvg0/"
    "AHukPkWF1T5pJrm+q06KPpbztz4MyJo+qJ2dPuOlBz91rJs9UTdnPrvKwz7oJ/Q+cxytvsZJMz9JYLE+ujN5PmY92T7FIeg+/c/pPFSLcD9hRjK9"
    "iyCEP2gGUr6YOgQ/xr6OvZKsXj+i8CG+YhIZPgT1kz6Nq48/nO3yPmZyFT9PTJA+xdLqPiRYsr2dh4Y+g9QsPov/hD4Xclk+wOqIPq4PnT7E4FA/"
    "8DCAvaPXGT/CFb0+83edPzDMLj7zIJM/Mv2dPXmqjD9zh/o+RIvXvXCy+z4szJ8/hmmBPjpFhz4l8Jk+Pz+EPoaBqT4OLYA+L+lPvUEoKD6uw5U+"
    "rCpMPtgngT5myEA+aU1ZPoC9Pz7KtSw+LjtFPos0DT6CBk4+RjOWvjud/T0+SA0+sht6PsYs+z5jKCc/ZdWuPp3WKT/E0ck+2XIPP/cy3D6dLyg/"
    "ebH6PvdJOD4XOu89BV+BP+U0TD46z4g/RanFPq4ElD88liu+KSp2P7AGqD66K2E+vqTSPoUytz7JiPs+PHyVP/mmij6Y+5g/VLRFvlLqJT9Susw+"
    "Jw9KP/0ozD6gTU4/nlrLPr9fUz8dT8k+nyxaP2/ruz5Fhmo/BbimPie8RT8jOaE+saZDPxanmT54IUI/m1yDPp7lOz/xkDM9bpkfPz0F0D6bHps+"
    "XxDBPneqRz6Mua4+Y79XPn63rD4exEg/b4IQPGPsRD9c+d0+eng6PsQOqz5Aj3s/w/D6PgR7xz5a/uc+YtyuPgvh+j4tF6w+c2S9Pj0m3T7Qefs+"
    "I/GLP8Vt+z4msYE/fBTUPsAigT8qsFw+w+VgP3c/jT6xGRM/4WKJPgCjcD95BS8+sakRP8Edcz5h2CA/9OUCPlu/KD9EKsw+l/SKP5k/qj4E6uo+"
    "PUIlPtd4bj90SG4+LlZ/PzVDOD5uHE4/Tdx2vaULND9wG849HPxSP1bmIb5TmkQ/5D9OPrw3Mz/4U7s+OpjEPqW50j7PhQc/wAjCPp0yDD+WXd0+"
    "0w/+PrZarT4b+Ro+5CiLPsqDBD56ilo+QrT/PZbfIT6m6AM+B0zZPXi0Fz4aVQA9SdZxPvaIWr5FJcc+qh6gPWjHnj6xAgc+Y4ymPiOIRz4IIac+"
    "SbCBPsIIoD4/hJw+w3CXPnphsj6niJE+MtTDvnwy0j6jRb4+DQURPw5w1T6L888++/7iPtIzBj9TZ+U+u2cOP8l63j5pbgo/3zy/Pn/YFj/FJOw+"
    "+AMOP2Q66z6NwhQ/QBe4Pvz5fT6+fMM+MwuFPiKJzT6jmYg+PPjvPcNPVz4jm8A9W39OPoSUBT/hYMk+pc1cP7GubD6odAk/OPASP0RFmD/AWco7"
    "0j86P3qakD4tlEY/krCTPjkdUz9QaZA+qKNjP1fRez7cyy0/7lGLPhaWQz9OKio+XE84P779LT4SWE8/7PwvPt4QWT9GZjs+oNhvPwqIkT7HdSw/"
    "7HGGPyEpYT/6R2M+vwKYP7B3hz5igYA/iKV/PiTaPj8F9gA//24KP4ejNT9qXgk/XidDP8jwGD+utTg/tF0kPwnqPD/OJxQ/WnBDP/X0HT+eQEQ/"
    "2FE2PyTPWD/vdAM/at4GP5xeBD+Tj/s+0D9rP+ay6D1HNSo/s9q5PmhyHT/4aAc/mzIhP9GeAD++umI/o5b/Pq71BD9MgeI+2y5HP2IdbT38tVk/"
    "Zt+bPUOkiT8l4829qRsVP2GSvj2SMy4/1Dw8PjehPz86jUo/+vygP7l5WT+ciBc/CmwSP28HET+i3Bc/VDIzP/mqST9Ydi4/GHJJP0x1Yj8H1hw9"
    "I6sgPzAGDj+fFDE/gJ5iPW1XMj8U8CU8uaRJP+mHbL7o0Hc/Ta4FvWu9Oj/3N929UgF4P3VCsj2WxYg/OdJMPTHvCT8Dzjw/IMEVPzbXPT8mrSA/"
    "K0FAP7hfFj9htRU/YGowPx5VST9Spik/BQ1PPz9fKT9WV0k/7asPP7dRCz/P4Rw/m6RIPypYEz/eqEg/O9EIP5KtSD9vLw0/XglwP0M9Cj+tklw/"
    "geEJP4g9VD/D2gk/7zxOPzPjCT9I/0k/51cePyT2ST97Ax8/W7VNP2SGID9QeVE/qrsiP54yVT+6fC8/O9AwP7wFrT+ERww//wclP1IBSj8lqCY/"
    "iupMP9gODD+Pdx8/zp4gP2laGD/zUQ4/YPIbP7pWNz+Geso+ep1IPzns3j5eniU/YZ4GPw0vcj+kbzq+wzBcP8Yxsb1KpUs/L0o3PFw/Kz8KUGI/"
    "Qr4XP0FzqDxXJR0/eM7hvcovJT8uAIC+QCldP53Xhj4U9Xw/P86nPtL/JD8mBYc+dpBrP+2iPj4PLx4/2SyqPvEOFT9/+gE/HKWHP/LWuz7wGnA/"
    "75u7PiFyXj/PJcU+qkdJP33pvj6h7jg/AbSyPtEzKz9GbqU+pBMIPxEyjT7bPoU/MhP4PmZXeD+axjI+d7ABP+TfDT+0tyg/rR7VPm21qz8PyYg+"
    "kccePz0omj4WQyw/eG8HPx5YZz+ivGU+wgIZP18E9D4l5Kg/LYwyPzEmIj/Bsng+dJ4OP1Kv5z4SHHQ/dCJwP0BVgz9g44M/UciXPzGcAz8hmoY/"
    "qixeP2+ckT9owxY+k40xP8KZjz+knwE/t3UVP8kCMz+XN+o+85CIP4yAhT5boE8/nmyEPrt6RD/Aa4g+78wsP6W2UD8Zk4U/O1kZP6i0HD8Yh50/"
    "FO5PP0P8kj/G1Wc/GHuMP8UhOj+42IY+Id0tP6nogz52FiY/Y8B/PpTfgz90PCY+4OUvPyJ2Sz48MTo/DO8/PpBxRD+Bvz4+rJhPP1MVRD7velc/"
    "fcRMPuvnoj8zBPg93H9XP63ZeD7tyCM/KaopP3QxFj/UXA8/vxYNP6khKD+ukl0/4zWBP8t2SD/QsIg/CKEYPwkFlD+6LZM/eZN1P8jJJj/Kl2A+"
    "jpMRPyTctj4GWDY/WeKYP3lMlj+9TiU/j/EUP1f6ST8DPhU/jjhOP7qpFT9OSlM/jrUWP0IWWj/vcB0/J4RqP6ftJz+3lkU/YqwqP3N+Qz8LdC4/"
    "2fVBP697OT9vfzs/depvPyoxHz9J3BI/o46aPh03Gj/2J0c+I24jP3A3Vz7J8SQ/AaFIPycAeT/XfkQ/brcLP8XtOT6N1CU/m3h7P2vjBj/Wtq4+"
    "+VUcP53V3D41YxE/GB2BP3YnRD+Zr2A/TXQ0P4zpEj+mrjY/0n5wP55NTz9rXhE//Fg+P2OmID8vcVo/dGYoP8BhFT+08Io/AeolP9iN6j6GElI/"
    "IDNuP0LcPz8vJX8/yDRNP5fTTT+lUYU/M44zP2iHYT/jo1I/JeCRP1gGRD//pEc/xuUyPwFEHT/fMcQ+18ARPxRXBz9HBBo/PwwMP7sIDD+NJ/4+"
    "ag0kP9xaGj4lIzU/4LwDPnwURD/cxf09j0BSP6+/Aj5ak18/h1oWPhDLcj8qM3A+gcqYP8fkxT6Y3WY/+AeePvgiWT9+5aU+8v1IPziXpj6NATo/"
    "+pWfPqCOLD8tA5c+sZAhPz4GkT78cK4/OaPQPkUJHD923hA/lT8QP+Clzz4qlgk/f1QGP+FlCD8KXg4/mNgLP6FhCj+ghRs/57kWP9nyBD9zBQ4/"
    "snwFP7W+FD96zB4/ZYZ9PsnzGD+6y4M+7P0TP5XShz4cy1w/xPpVPsa0Yj82FU0+"
)
# Its landmarks_468_moving_parts_indexes: the points left out of the fit with exclude_moving_parts.
MOVING_PARTS_468 = _ints(
    "0 7 8 9 10 11 12 13 14 15 16 17 18 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 37 38 39 40 41 42 43 "
    "46 52 53 54 55 56 57 58 61 62 63 65 66 67 68 69 70 71 72 73 74 76 77 78 80 81 82 83 84 85 86 87 88 "
    "89 90 91 95 96 103 104 105 106 107 108 109 110 111 112 113 117 118 124 130 132 133 135 136 138 139 "
    "140 143 144 145 146 148 149 150 151 152 153 154 155 156 157 158 159 160 161 162 163 168 169 170 171 "
    "172 173 175 176 177 178 179 180 181 182 183 184 185 189 190 191 192 193 194 199 200 201 202 204 208 "
    "210 211 212 213 214 215 221 222 223 224 225 226 228 229 230 231 232 233 243 244 245 246 247 249 251 "
    "252 253 254 255 256 257 258 259 260 261 262 263 264 265 267 268 269 270 271 272 273 276 282 283 284 "
    "285 286 287 288 291 292 293 295 296 297 298 299 300 301 302 303 304 306 307 308 310 311 312 313 314 "
    "315 316 317 318 319 320 321 324 325 332 333 334 335 336 337 338 339 340 341 342 346 347 353 359 361 "
    "362 364 365 367 368 369 372 373 374 375 377 378 379 380 381 382 383 384 385 386 387 388 389 390 394 "
    "395 396 397 398 400 401 402 403 404 405 406 407 408 409 413 414 415 416 417 418 421 422 424 428 430 "
    "431 432 433 434 435 441 442 443 444 445 446 448 449 450 451 452 453 463 464 465 466 467 "
)
# Its uni_landmarks_68: where 68-point brows, nose, eye corners and mouth corners sit in the uniform square.
UNI_68 = np.array(
    [
        [0.000213256, 0.106454],
        [0.0752622, 0.038915],
        [0.18113, 0.0187482],
        [0.29077, 0.0344891],
        [0.393397, 0.0773906],
        [0.586856, 0.0773906],
        [0.689483, 0.0344891],
        [0.799124, 0.0187482],
        [0.904991, 0.038915],
        [0.98004, 0.106454],
        [0.490127, 0.203352],
        [0.490127, 0.307009],
        [0.490127, 0.409805],
        [0.490127, 0.515625],
        [0.36688, 0.587326],
        [0.426036, 0.609345],
        [0.490127, 0.628106],
        [0.554217, 0.609345],
        [0.613373, 0.587326],
        [0.121737, 0.216423],
        [0.334606, 0.231733],
        [0.645647, 0.231733],
        [0.858516, 0.216423],
        [0.254149, 0.780233],
        [0.726104, 0.780233],
    ],
    np.float32,
)
# Its lmrks_106_to_68_mean_pairs: each of the 68 points is the mean of two of the 106.
PAIRS_106_TO_68 = _ints(
    "1 9 10 11 12 13 14 15 16 2 3 4 5 6 7 8 0 0 24 23 22 21 20 19 18 32 31 30 29 28 27 26 25 17 43 43 48 "
    "44 49 45 51 47 50 46 102 97 103 98 104 99 105 100 101 101 72 72 73 73 74 74 86 86 77 78 78 79 80 80 "
    "85 84 84 83 35 35 41 40 40 42 39 39 37 33 33 36 89 89 95 94 94 96 93 93 91 87 87 90 52 52 64 64 63 "
    "63 71 71 67 67 68 68 61 61 58 58 59 59 53 53 56 56 55 55 65 65 66 66 62 62 70 70 69 69 57 57 60 60 "
    "54 54 "
)

UNI_468 = np.frombuffer(base64.b64decode("".join(_UNI_468)), "<f4").reshape(468, 2).astype(np.float64)
_KEEP_468 = np.setdiff1d(np.arange(468), MOVING_PARTS_468)
# Where a detector's 5 keypoints sit in the uniform square (this project's measured mean keypoints, carried over by
# the mean face's fit), for faces that have only those: DeepFaceLive itself needs landmarks.
UNI_KPS = transform_points(umeyama(MEAN_FACE[468][_KEEP_468], UNI_468[_KEEP_468]), MEAN_FACE[5])
_FIT_68 = (*range(17, 36), 36, 39, 42, 45, 48, 54)
Y_SHIFT = -0.08  # DeepFaceLive's aligner lowers y_offset by this (more forehead)


def to_uniform(landmarks: np.ndarray | None, kps: np.ndarray | None, exclude_moving: bool) -> np.ndarray | None:
    """The 2x3 similarity frame -> uniform template square, fitted as DeepFaceLive fits it; the 5 keypoints when
    the face has no 468, 106 or 68 landmarks; None when it has neither."""
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float64)[:, :2]
        if len(lm) == 468:
            keep = _KEEP_468 if exclude_moving else np.arange(468)
            return umeyama(lm[keep], UNI_468[keep])
        if len(lm) == 106:
            lm = lm[list(PAIRS_106_TO_68)].reshape(68, 2, 2).mean(1)
        if len(lm) == 68:
            return umeyama(lm[list(_FIT_68)], UNI_68.astype(np.float64))
    if kps is not None and len(kps) >= 5:
        return umeyama(np.asarray(kps, np.float64)[:5, :2], UNI_KPS)
    return None


def head_yaw(landmarks_3d: np.ndarray | None) -> float | None:
    """DeepFaceLive's yaw (radians) of a face from its 468 3D points: the head's axes from cheek to cheek and
    from the nose bridge to the chin, read as Euler angles, the yaw doubled. None without 3D points."""
    if landmarks_3d is None or len(landmarks_3d) != 468 or np.asarray(landmarks_3d).shape[1] < 3:
        return None
    lm = np.asarray(landmarks_3d, np.float64)
    across = lm[454] - lm[234]
    down = lm[152] - lm[6]
    across, down = across / np.linalg.norm(across), down / np.linalg.norm(down)
    depth = np.cross(across, down)
    return 2.0 * math.atan2(-depth[0], math.hypot(across[0], down[0]))


def cut_matrix(
    frame_to_uniform: np.ndarray,
    size: int,
    coverage: float,
    x_offset: float = 0.0,
    y_offset: float = 0.0,
    yaw: float | None = None,
    freeze_z: bool = False,
) -> np.ndarray:
    """The 2x3 frame -> crop affine of a ``size`` crop (offsets as DeepFaceLive's calc_cut takes them: the
    aligner's -0.08 and head mode's changes already applied)."""
    corners = transform_points(invert(frame_to_uniform), np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]))
    centre = corners[4].copy()
    down_diag = corners[2] - corners[0]
    up_diag = corners[1] - corners[3]
    down_diag, up_diag = down_diag / np.linalg.norm(down_diag), up_diag / np.linalg.norm(up_diag)
    reach = float(np.linalg.norm(corners[4] - corners[0])) * coverage
    if yaw is not None:
        x_offset += -(yaw * abs(math.tanh(yaw * 2.0))) * 0.5
    centre += (corners[1] - corners[0]) * x_offset + (corners[3] - corners[0]) * y_offset
    if freeze_z:
        square = np.array([centre - down_diag * reach, centre + up_diag * reach, centre + down_diag * reach])
        fourth = centre - up_diag * reach
        xs, ys = np.append(square[:, 0], fourth[0]), np.append(square[:, 1], fourth[1])
        area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
        half = math.sqrt(area) / 2.0
        points = centre + np.array([[-half, -half], [half, -half], [half, half]])
    else:
        points = np.array([centre - down_diag * reach, centre + up_diag * reach, centre + down_diag * reach])
    target = np.array([[0, 0], [size, 0], [size, size]], np.float64)
    return _affine_from_3(points, target)


def _affine_from_3(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 affine taking three points onto three others (cv2.getAffineTransform in float64)."""
    a = np.hstack([src, np.ones((3, 1))])
    mat: np.ndarray = np.linalg.solve(a, dst).T
    return mat
