"""Helpers that drive the real editor window under X with xdotool (see driver.py)."""
