"""Compiling condition, update and projection expressions.

See docs/architecture.md for the layers and what each may import.
"""
