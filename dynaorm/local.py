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

from dynaorm.base.errors import ConfigurationError
from dynaorm.read.cursor_secrets import mark_local_endpoint
from dynaorm.tools.local_items import install as install_item_constructor

__all__ = ["LocalDynamoDB"]

# The embedded server's own messages (its errors) go here, never to werkzeug's logger, whose
# level and handlers belong to the application; its per-request access lines are dropped.
server_logger = logging.getLogger("dynaorm.local")
_LEVELS = {"info": logging.DEBUG, "warning": logging.WARNING, "error": logging.ERROR}


def _server_classes() -> tuple[type[Any], type[Any]]:
    """The request handler and server classes of the embedded server (werkzeug's, with their
    logging sent to :data:`server_logger` instead of the ``werkzeug`` logger)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import ThreadedWSGIServer

    def log(type: str, message: str, *args: Any) -> None:
        server_logger.log(_LEVELS.get(type, logging.INFO), message.rstrip(), *args)

    class QuietHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Drop the access line of each request (noise in tests and demos)."""

        def log(self, type: str, message: str, *args: Any) -> None:
            log(type, message, *args)

    class QuietServer(ThreadedWSGIServer):
        def log(self, type: str, message: str, *args: Any) -> None:
            log(type, message, *args)

    return QuietHandler, QuietServer


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
                create_backend_app,
            )

            handler, server_class = _server_classes()
        except ImportError as exc:
            raise ConfigurationError(
                "the embedded server needs moto's server: pip install 'dynaorm[local]'"
            ) from exc
        install_item_constructor()  # same size check, linear instead of quadratic
        # moto keeps its tables in plain dicts without locks; serving requests one at a time
        # gives the atomic conditional writes and transactions DynamoDB guarantees.
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        server = server_class(self.host, self.port, app, handler)
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
