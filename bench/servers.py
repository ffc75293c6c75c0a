"""The servers the throughput benchmarks run against: the embedded one and dynalite."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

DYNALITE = Path(".dynalite/node_modules/.bin/dynalite")


def dynalite_available() -> bool:
    """True when Node.js and the dynalite installed by ``make test-dynalite`` are present."""
    return shutil.which("node") is not None and DYNALITE.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def embedded() -> Iterator[str]:
    """The embedded moto server, run by ``dynaorm local`` in a process of its own.

    In this process it would share the interpreter lock with the client being measured, so
    every microsecond of client work would also stall the server; a separate process is how
    an application meets a real server.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "dynaorm.cli", "local", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        if not endpoint.startswith("http"):
            raise RuntimeError(f"dynaorm local did not start (exit status {process.poll()})")
        yield endpoint
    finally:
        _stop(process)


@contextlib.contextmanager
def dynalite() -> Iterator[str]:
    """A dynalite process (in memory) on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "20"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dynalite exited with status {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("dynalite did not start within 30 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
