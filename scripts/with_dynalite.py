"""Run a command with a dynalite server on a free 127.0.0.1 port (DYNAORM_TEST_ENDPOINT set).

Usage: python scripts/with_dynalite.py DYNALITE_BIN -- COMMAND [ARGS...]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"dynalite exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"dynalite did not listen on port {port} within {timeout}s")


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        raise SystemExit(__doc__)
    binary, command = argv[0], argv[2:]
    port = free_port()
    server = subprocess.Popen(
        [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--createTableMs",
            "50",
            "--deleteTableMs",
            "50",
            "--updateTableMs",
            "50",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        print(f"dynalite listening on {endpoint}", flush=True)
        env = {**os.environ, "DYNAORM_TEST_ENDPOINT": endpoint}
        return subprocess.call(command, env=env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
