"""Talking to the server: requests sent through a transport, retries, error translation.

See docs/architecture.md for the layers and what each may import.
"""
