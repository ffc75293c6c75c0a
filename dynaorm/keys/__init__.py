"""Key templates and sort-key ranges: text keys built from and parsed back to fields.

See docs/architecture.md for the layers and what each may import.
"""
