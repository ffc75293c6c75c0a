"""Errors, DynamoDB's limits, settings and threads: the bottom layer, importing nothing of dynaorm.

See docs/architecture.md for the layers and what each may import.
"""
