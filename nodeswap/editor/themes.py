"""Colours of the node editor: title bars by category (red on error, grey when bypassed),
pins and links by port type, warning text for params that must be set."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from ..types import PORT_COLORS

CATEGORY_COLORS = {
    "source": (45, 105, 175),
    "detector": (170, 100, 30),
    "marker": (140, 80, 160),
    "aligner": (40, 130, 120),
    "swapper": (175, 60, 80),
    "merger": (60, 130, 60),
    "filter": (95, 95, 140),
    "sink": (90, 90, 90),
    "utility": (70, 95, 115),
}
ERROR_COLOR = (205, 45, 45)
LINK_REACH = 10.0  # pixels from a link's curve that still hit it (ComfyUI's reach; imnodes' default is less)
WARN_TEXT = (255, 110, 110)


def _title_theme(color: tuple[int, int, int], dim: bool = False) -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvNode):
        lift = tuple(min(255, c + 30) for c in color)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBar, color, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBarHovered, lift, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBarSelected, lift, category=dpg.mvThemeCat_Nodes)
        if dim:
            dpg.add_theme_color(dpg.mvNodeCol_NodeBackground, (40, 40, 40), category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvThemeCol_Text, (150, 150, 150))
    return int(theme)


def _pin_theme(color: tuple[int, int, int]) -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
        dpg.add_theme_color(dpg.mvNodeCol_Pin, color, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_PinHovered, (255, 255, 255), category=dpg.mvThemeCat_Nodes)
    return int(theme)


def _link_theme(color: tuple[int, int, int]) -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvNodeLink):
        dpg.add_theme_color(dpg.mvNodeCol_Link, color, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_LinkHovered, (255, 255, 255), category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_LinkSelected, (255, 255, 160), category=dpg.mvThemeCat_Nodes)
    return int(theme)


class Themes:
    """The dearpygui themes the canvas binds to its items (made once, shared by every node)."""

    def __init__(self) -> None:
        self.category = {c: _title_theme(col) for c, col in CATEGORY_COLORS.items()}
        self.bypass = _title_theme((70, 70, 70), dim=True)
        self.error = _title_theme(ERROR_COLOR)
        self.pins = {t: _pin_theme(col) for t, col in PORT_COLORS.items()}
        self.links = {t: _link_theme(col) for t, col in PORT_COLORS.items()}
        with dpg.theme() as self.editor, dpg.theme_component(dpg.mvAll):  # bound to the node editor
            dpg.add_theme_style(dpg.mvNodeStyleVar_LinkHoverDistance, LINK_REACH, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_style(dpg.mvNodeStyleVar_LinkThickness, 3.5, category=dpg.mvThemeCat_Nodes)
        with dpg.theme() as self.warn, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvThemeCol_Text, WARN_TEXT)
            dpg.add_theme_color(dpg.mvThemeCol_TextDisabled, WARN_TEXT)
            dpg.add_theme_color(dpg.mvThemeCol_FrameBg, (90, 30, 30))
