"""The model core: table and index definitions, entities bound to tables, the codec between
entities and items, versions and timestamps.

See docs/architecture.md for the layers and what each may import.
"""
