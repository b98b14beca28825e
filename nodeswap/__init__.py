"""nodeswap: a node-graph editor for real-time face swapping."""

from .errors import EndOfStream, GraphError, NodeLoadError, ParamError, UserError
from .node import LoadContext, Node, Param, Port
from .types import Aligned, Face, Faces, Frame, Swapped

__all__ = [
    "Aligned",
    "EndOfStream",
    "Face",
    "Faces",
    "Frame",
    "GraphError",
    "LoadContext",
    "Node",
    "NodeLoadError",
    "Param",
    "ParamError",
    "Port",
    "Swapped",
    "UserError",
]
__version__ = "0.1.0"
