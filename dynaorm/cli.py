"""The ``dynaorm`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from dynaorm._errors import DynaormError
from dynaorm.local import LocalDynamoDB

__all__ = ["main"]


def _local(args: argparse.Namespace) -> int:
    with LocalDynamoDB(host=args.host, port=args.port) as server:
        print(server.endpoint_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynaorm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the embedded DynamoDB-compatible server")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=0, help="0 picks a free port")
    local.set_defaults(run=_local)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except DynaormError as exc:
        print(f"dynaorm: error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
