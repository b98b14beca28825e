"""The to-do list: every problem that stops the graph running, at once, each on its node with its fix.

A button in the status bar ("3 problems") opens a window listing them all (the status bar has room for one):
a click on one shows its node in the inspector, a missing model has its Download button beside it. The list
is ``validate.run_issues``, the one ``validate`` and ``run`` give.
"""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg

from .. import models
from ..errors import Issue
from ..validate import run_issues

CHECK_PERIOD = 1.0  # seconds between checks while nothing is edited (a model downloaded, a file appeared)


def node_of(where: str) -> str:
    """ "node 'x' param 'y'" -> 'x'; '' when the issue is not a node's."""
    return where.split("'")[1] if where.startswith("node '") else ""


def model_of(where: str) -> str:
    """ "node 'x' model 'm'" -> 'm'; '' for other issues."""
    parts = where.split("'")
    return parts[3] if len(parts) > 3 and parts[2].strip() == "model" else ""


def summary(issues: list[Issue]) -> str:
    """The button's label: how many problems, or none."""
    return f"{len(issues)} problem{'s' if len(issues) != 1 else ''}..." if issues else ""


class ProblemsList:
    """The status bar's problems button and the window it opens."""

    def __init__(self, app: Any, parent: int | str, before: int | str) -> None:
        self.app = app
        self.issues: list[Issue] = []
        self._due = 0.0
        self.button = dpg.add_button(label="", parent=parent, before=before, show=False, callback=lambda: self.open())
        with dpg.tooltip(self.button):
            dpg.add_text("Every problem that stops a run, each with its fix")
        with dpg.window(
            label="Problems before running", show=False, width=780, height=320, pos=(230, 110), no_saved_settings=True
        ) as self.window:
            self.body = dpg.add_group()

    def refresh(self, force: bool = True) -> list[Issue]:
        """Check the graph again (``force``: now; else at most once a CHECK_PERIOD) and update the button and
        an open window."""
        now = time.monotonic()
        if not force and now < self._due:
            return self.issues
        self._due = now + CHECK_PERIOD
        issues = run_issues(self.app.graph, editor=True)
        if issues != self.issues:
            self.issues = issues
            dpg.configure_item(self.button, label=summary(issues), show=bool(issues))
            if dpg.is_item_shown(self.window):
                self._fill()
        return issues

    def open(self) -> None:
        self.refresh()
        self._fill()
        dpg.configure_item(self.window, show=True)
        dpg.focus_item(self.window)

    def _fill(self) -> None:
        dpg.delete_item(self.body, children_only=True)
        if not self.issues:
            dpg.add_text("Nothing to do: the graph can run.", parent=self.body)
        start = self.app.model_downloads.start
        for issue in self.issues:
            node_id, model = node_of(issue.where), model_of(issue.where)
            with dpg.group(horizontal=True, parent=self.body):
                if model and (info := models.lookup(model)) is not None and info.urls:
                    dpg.add_button(label=f"Download {model}", callback=lambda s, a, u: start(u), user_data=model)
                if node_id:
                    dpg.add_button(label="Show", callback=lambda s, a, u: self.app.inspect(u), user_data=node_id)
                dpg.add_text(str(issue), wrap=440)
