"""The dearpygui editor (only this subpackage imports dearpygui)."""
