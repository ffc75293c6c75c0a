"""Reads: plans, pages, cursors, queries, item collections, scans, streams.

See docs/architecture.md for the layers and what each may import.
"""
