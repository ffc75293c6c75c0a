"""Batch writes and gets, transactions, export and import.

See docs/architecture.md for the layers and what each may import.
"""
