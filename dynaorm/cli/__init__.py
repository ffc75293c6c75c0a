"""The ``dynaorm`` command line.

Commands::

    dynaorm local [--port N]                 run the embedded server, print its endpoint
    dynaorm create MODULE:TABLE [--ensure]   create the table (or create/check with --ensure)
    dynaorm delete MODULE:TABLE --yes        delete the table
    dynaorm schema MODULE:TABLE [--format terminal|markdown|html|workbench] [--samples N]
                   [--output FILE]
    dynaorm explain MODULE:NAME [--arg NAME=VALUE ...]
                                             print the compiled request of a query or write
    dynaorm export MODULE:TABLE FILE [--format aws|bare] [--gzip] [--segments N] [--consistent]
                                             every item, raw, in DynamoDB's export format
    dynaorm import MODULE:TABLE FILE|DIR [--workers N] [--stream]
                                             those lines back (gzip or not), exactly, in batches
    dynaorm --version

``--endpoint`` and ``--region`` (before or after the command) override the configuration.
Errors print one line on standard error and exit with status 1; no input ends in a traceback.

The commands live in :mod:`dynaorm.cli.tables` (local, create, delete, schema),
:mod:`dynaorm.cli.explain` and :mod:`dynaorm.cli.copies` (export, import); their options in
:mod:`dynaorm.cli.parser`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dynaorm.base.errors import DynaormError
from dynaorm.base.settings import configure
from dynaorm.cli.parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 1 after a one-line error on
    standard error).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        dynaorm 0.1.0
    """
    args = build_parser().parse_args(argv)
    endpoint = getattr(args, "endpoint", None)
    region = getattr(args, "region", None)
    try:
        if endpoint or region:
            configure(**{k: v for k, v in (("endpoint_url", endpoint), ("region", region)) if v})
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("dynaorm: interrupted", file=sys.stderr)
        return 130
    except (DynaormError, OSError, EOFError, UnicodeDecodeError) as exc:
        print(f"dynaorm: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # the command line never ends in a traceback
        print(f"dynaorm: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    return status


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
