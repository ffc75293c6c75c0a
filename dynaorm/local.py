"""An embedded DynamoDB-compatible server for development and tests.

:class:`LocalDynamoDB` runs moto's server in a background thread of this process, bound to
a free port on 127.0.0.1, and talks HTTP like any other endpoint. It needs the ``local``
extra: ``pip install 'dynaorm[local]'``.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from dynaorm._cursor import mark_local_endpoint
from dynaorm._errors import ConfigurationError
from dynaorm._local_items import install as install_item_constructor

__all__ = ["LocalDynamoDB"]


class _Serialized:
    """A WSGI wrapper that lets one request at a time into the wrapped application."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class LocalDynamoDB:
    """A local DynamoDB-compatible server (moto) running in-process over HTTP.

    Args:
        host: Address to bind; loopback by default so nothing outside the machine reaches it.
        port: Port to bind; 0 picks a free one.

    Example:
        >>> with LocalDynamoDB() as server:  # doctest: +SKIP
        ...     dynaorm.configure(endpoint_url=server.endpoint_url)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running server.

        Raises:
            ConfigurationError: The server is not running.
        """
        if self._server is None:
            raise ConfigurationError("LocalDynamoDB is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> str:
        """Start the server and return its endpoint URL.

        Raises:
            ConfigurationError: The ``local`` extra (moto with its server) is not installed.
        """
        if self._server is not None:
            return self.endpoint_url
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError as exc:
            raise ConfigurationError(
                "the embedded server needs moto's server: pip install 'dynaorm[local]'"
            ) from exc
        # The server's per-request access log is noise in tests and demos.
        access_log = logging.getLogger("werkzeug")
        if access_log.level == logging.NOTSET:
            access_log.setLevel(logging.WARNING)
        install_item_constructor()  # same size check, linear instead of quadratic
        # moto keeps its tables in plain dicts without locks; serving requests one at a time
        # gives the atomic conditional writes and transactions DynamoDB guarantees.
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        server = make_server(self.host, self.port, app, True, request_handler=MotoRequestHandler)
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        self._server = server
        # Cursors for a server of this process need no shared secret (see _cursor).
        mark_local_endpoint(self.endpoint_url)
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the server (no-op when it is not running)."""
        if self._server is not None:
            mark_local_endpoint(self.endpoint_url, local=False)
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = None
            self._thread = None

    def __enter__(self) -> LocalDynamoDB:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
