"""What the commands show on the terminal: rich consoles and progress bars."""

from __future__ import annotations

from typing import Any

__all__ = ["console", "progress"]


def console(stderr: bool = False) -> Any:
    """A rich console on standard output (or error), wrapping long lines softly.

    Example:
        >>> console().print("table [bold]shop[/bold] created")  # doctest: +SKIP
    """
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True)


def progress() -> Any:
    """A rich progress bar on standard error: spinner, description, bar, count, elapsed time.

    Example:
        >>> with progress() as bar:  # doctest: +SKIP
        ...     task = bar.add_task("import shop", total=100)
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=False,
    )
