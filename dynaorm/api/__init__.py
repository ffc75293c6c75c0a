"""The public facade: Table and Entity, composing the read, write and bulk features.

See docs/architecture.md for the layers and what each may import.
"""
