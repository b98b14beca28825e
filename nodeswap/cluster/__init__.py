"""Backends that run nodeswap on more than this machine. Imported only when asked for (``nodeswap batch
--ray``): the core package never imports Ray."""
