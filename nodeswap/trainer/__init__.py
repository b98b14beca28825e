"""Train a DeepFaceLab-style face model (SAEHD DF / LIAE, AMP) on two facesets and export it as a .dfm.

PyTorch lives here only: the core package ``nodeswap`` and the editor never import this package at import
time (``nodeswap train`` / ``nodeswap export`` load ``trainer.cli`` when they run). Install with the
``train`` extra.
"""
