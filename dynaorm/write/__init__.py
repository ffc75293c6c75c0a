"""Single-item writes: put and delete, updates with index keys kept in step, read-modify-write.

See docs/architecture.md for the layers and what each may import.
"""
