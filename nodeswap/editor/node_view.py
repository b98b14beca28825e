"""How one node is drawn on the canvas: full, compact (its key params only) or collapsed (title and pins).

dearpygui's node editor has no zoom, so these two, with "frame all", are what makes a dense graph fit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from ..placeholder import is_placeholder
from ..types import PORT_COLORS
from .tagmap import IN, OUT, shown_params

if TYPE_CHECKING:
    from .canvas import Canvas

WIDGET_WIDTH = 140
MUTED = (150, 150, 150)
MISSING_TEXT = (255, 150, 150)


def draw_node(canvas: Canvas, node_id: str) -> None:
    """Add the node's item (badge, pins, param widgets; a placeholder's kept params as text) to the editor."""
    graph = canvas.graph
    assert graph is not None
    cls = graph.node_class(node_id)
    values = graph.param_values(node_id)
    tags = canvas.map.add_node(node_id)
    pos = list(graph.layout[node_id])
    with dpg.node(tag=tags.node, label=canvas.label(node_id), parent=canvas.editor, pos=pos):
        with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static):
            tags.extra["badge"] = dpg.add_text("", color=MUTED)
            with dpg.tooltip(tags.extra["badge"]):
                doc = cls.__doc__.strip().split("\n")[0] if cls.__doc__ else ""
                tags.extra["badge_tip"] = dpg.add_text(doc, wrap=420)
        for direction, ports in ((IN, cls.inputs), (OUT, cls.outputs)):
            kind = dpg.mvNode_Attr_Input if direction == IN else dpg.mvNode_Attr_Output
            for port in ports:
                attr = canvas.map.add_port(node_id, direction, port.name)
                with dpg.node_attribute(tag=attr, attribute_type=kind, shape=dpg.mvNode_PinShape_CircleFilled):
                    text = port.name + (" (optional)" if port.optional and not is_placeholder(cls) else "")
                    label = dpg.add_text(text, color=PORT_COLORS.get(port.type, (200, 200, 200)), user_data=text)
                    tags.extra[f"{direction}:{port.name}"] = label
                    with dpg.tooltip(label):
                        dpg.add_text(f"{direction}put '{port.name}': {port.type}\n{port.help}".strip(), wrap=360)
                dpg.bind_item_theme(attr, canvas.themes.pins.get(port.type, canvas.themes.pins["any"]))
        entry = graph.nodes[node_id]
        if is_placeholder(cls) and entry.kept:
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static) as row:
                tags.extra["params_row"] = row
                for name, value in entry.kept.items():
                    dpg.add_text(f"{name} = {json.dumps(value, default=str)[:40]}", color=MISSING_TEXT)
        elif cls.params:
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static) as row:
                tags.extra["params_row"] = row
                for spec in cls.params:
                    tag = canvas.app.widgets.add(node_id, spec, values[spec.name], WIDGET_WIDTH, row)
                    canvas.map.add_param_widget(node_id, spec.name, tag)
    apply_view(canvas, node_id)


def apply_view(canvas: Canvas, node_id: str) -> None:
    """Show the rows the node's view asks for: every param, the key ones, or none (collapsed)."""
    graph, tags = canvas.graph, canvas.map.nodes.get(node_id)
    if graph is None or tags is None:
        return
    collapsed = graph.nodes[node_id].collapsed
    shown = {p.name for p in shown_params(graph, node_id, canvas.compact)}
    for name, widget_tags in tags.params.items():
        for tag in widget_tags:
            _show(canvas.app.widgets.row_of(tag), name in shown)
    if "params_row" in tags.extra:
        _show(tags.extra["params_row"], not collapsed and (bool(shown) or not tags.params))
    for key, label in tags.extra.items():
        if key.startswith((f"{IN}:", f"{OUT}:")):  # collapsed: the pins stay, unlabelled (hover for the name)
            dpg.set_value(label, " " if collapsed else dpg.get_item_user_data(label))
    dpg.configure_item(tags.node, label=canvas.label(node_id))
    canvas.forget_alignment(node_id)


def _show(tag: Any, shown: bool) -> None:
    if tag and dpg.does_item_exist(tag):
        dpg.configure_item(tag, show=shown)
