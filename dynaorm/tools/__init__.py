"""Helpers of the command line and the embedded server.

See docs/architecture.md for the layers and what each may import.
"""
