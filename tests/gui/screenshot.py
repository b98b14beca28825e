"""Make the README screenshot: the editor running the video_swap preset on the Obama video (framed, offline).

    NODESWAP_MODELS=... NODESWAP_MEDIA=... python -m tests.gui.screenshot docs/editor.png

Starts its own Xvfb when DISPLAY is unset; drives the editor with real X events like the
GUI tests; writes a PNG (palette-reduced with ImageMagick to stay small).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.gui.driver import Editor, x_display


def title_point(rect: list[float]) -> tuple[float, float]:
    return (rect[0] + 50, rect[1] + 10)


def main(out: str, show: str = "merger") -> int:
    media = Path(os.environ["NODESWAP_MEDIA"])
    obama, photo = media / "videos" / "Obama_speaking.mp4", media / "photos" / "000007.jpg"
    with x_display() as display, tempfile.TemporaryDirectory() as tmp:
        editor = Editor(display, Path(tmp), None)  # no file: the editor opens the video_swap preset
        try:
            probe = editor.wait(lambda p: len(p["nodes"]) == 6, 20, "the preset")
            for field, text in (
                ("source.path", str(obama)),
                ("swapper.source_image", str(photo)),
                ("sink.path", str(Path(tmp) / "out.mp4")),
            ):
                editor.enter_text(editor.fresh()["params"][field], text)
                node, param = field.split(".")
                editor.wait(lambda p, n=node, k=param, t=text: p["graph"]["nodes"][n]["params"].get(k) == t, 10, field)
            editor.move(Editor.center(probe["canvas"]))
            editor.key("Home")  # frame all: compact nodes, every one in view
            editor.wait(lambda p: len(p["nodes"]) == 6 and "framed" in (p["status"] or ""), 10, "framed")
            editor.click(Editor.center(editor.fresh()["params"]["source.loop"]))
            probe = editor.wait(lambda p: p["graph"]["nodes"]["source"]["params"].get("loop"), 10, "loop")
            editor.click_item(probe["buttons"]["run_offline"], "Run offline")  # every frame, looping
            probe = editor.wait(lambda p: p["state"] == "running" and (p["stats"]["frames"] or 0) > 60, 120, "frames")
            editor.click(title_point(probe["nodes"][show]))
            editor.wait(lambda p: p["preview"]["node"] == show, 10, "the preview")
            editor.move((probe["canvas"][0] + probe["canvas"][2] - 200, probe["canvas"][1] + 20))  # no tooltips
            time.sleep(3)
            raw = Path(tmp) / "raw.png"
            editor.screenshot(raw)
            subprocess.run(
                ["convert", str(raw), "-crop", "1600x1000+0+0", "+repage", "+dither", "-colors", "200", out], check=True
            )
            editor.key("ctrl+q")
            probe = editor.wait(lambda p: "dialog:Discard" in p["buttons"], 10, "the question")
            editor.click_item(probe["buttons"]["dialog:Discard"], "Discard")
            editor.close()
        finally:
            editor.kill()
    print(f"{out}: {Path(out).stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
