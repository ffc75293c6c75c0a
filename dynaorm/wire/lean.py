"""The lean transport: DynamoDB's data-plane operations sent without botocore's per-call
machinery (event system, shape-walking serializer and parser, per-call endpoint rules).

Everything that is hard to get right still comes from the botocore client made for the same
settings (:mod:`dynaorm.wire.clients`), taken once per client:

* **Endpoint**: the client's endpoint rules are evaluated once, for a ``GetItem`` of a plain
  table name, with the client's own configuration: a custom ``endpoint_url``, FIPS and
  dual-stack settings, and account-based endpoints as botocore resolves them.
* **Credentials**: the client's credentials object (the standard chain, a profile, a session,
  explicit keys); ``get_frozen_credentials()`` is called for each request, so refreshing
  credentials keep working.
* **Signing**: botocore's own SigV4 signer, with the client's signing name and region (the
  parts every request shares worked out once: :mod:`dynaorm.wire.signing`).
* **Connections**: the client's own urllib3 pool (its TLS settings, CA bundle, pool size and
  connect/read timeouts); an attempt's shorter read timeout comes from
  :data:`~dynaorm.wire.clients.attempt_timeout`, as for the botocore transport.

Errors are the ones botocore raises for the same response or failure (``ClientError`` of the
client's modeled exception class; ``EndpointConnectionError``, ``ReadTimeoutError``, ...).
A response whose ``x-amz-crc32`` header does not match its body raises botocore's
``ChecksumError``, which dynaorm retries as a broken connection.
"""

from __future__ import annotations

import socket
import threading
import weakref
import zlib
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.exceptions import (
    ChecksumError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import (
    ConnectTimeoutError as Urllib3ConnectTimeout,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError as Urllib3ReadTimeout,
    SSLError as Urllib3SSLError,
)

from dynaorm.wire.clients import attempt_timeout
from dynaorm.wire.lean_codec import (
    decode_body,
    encode_request,
    error_members,
    error_response,
    metadata as response_metadata,
)
from dynaorm.wire.signing import LeanRequest, LeanSigV4, RequestShape

__all__ = ["DATA_PLANE", "LeanSender", "check_crc32", "lean_sender"]

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)
"""The operations the lean transport sends; every other one goes through botocore."""

_CONTENT_TYPE = "application/x-amz-json-1.0"


def resolve_endpoint(client: BaseClient) -> tuple[str, dict[str, Any]]:
    """The URL data-plane requests go to and the signing context the endpoint rules give
    (e.g. a signing region), as the client resolves them for a ``GetItem``."""
    # botocore keeps these parts of a client private; the lean transport reads them once.
    inner: Any = client
    operation = client.meta.service_model.operation_model("GetItem")
    context: dict[str, Any] = {
        "client_config": client.meta.config,
        "has_streaming_input": False,
        "auth_type": operation.resolved_auth_type,
    }
    url, _headers, _properties = inner._resolve_endpoint_ruleset(
        operation, {"TableName": "dynaorm"}, context
    )
    return str(url), dict(context.get("signing") or {})


class LeanSender:
    """Sends data-plane requests for one botocore client (see the module docs).

    Args:
        client: The botocore client whose endpoint, credentials, signer settings and
            connection pool are used.

    Attributes:
        url: The endpoint requests are sent to.
    """

    def __init__(self, client: BaseClient) -> None:
        inner: Any = client  # the private parts of the client used (read once)
        url, signing = resolve_endpoint(client)
        self.url = url if urlsplit(url).path else url + "/"
        signer = inner._request_signer
        self._credentials = signer._credentials
        self._signing_name = signing.get("signing_name") or signer._signing_name
        self._region = signing.get("region") or signer._region_name
        model = client.meta.service_model
        self._target = model.metadata["targetPrefix"] + "."
        self._members = error_members(model.error_shapes)
        self._errors: Any = client.exceptions.from_code
        http = inner._endpoint.http_session
        self._pool = http._manager.connection_from_url(self.url)
        http._setup_ssl_cert(self._pool, self.url, http._verify)
        timeout = http._timeout
        self._connect_timeout = (
            timeout.connect_timeout if isinstance(timeout, urllib3.Timeout) else timeout
        )
        self._path = urlsplit(self.url).path or "/"
        self._user_agent = getattr(client.meta.config, "user_agent", None) or "dynaorm-lean"
        self._shape = RequestShape(self.url)

    def sign(self, operation: str, body: bytes) -> LeanRequest:
        """The signed request for ``operation`` with ``body`` (fresh credentials each time).

        Raises:
            NoCredentialsError: The client has no credentials.
        """
        if self._credentials is None:
            raise NoCredentialsError()
        headers = {"X-Amz-Target": self._target + operation, "Content-Type": _CONTENT_TYPE}
        request = LeanRequest(self.url, headers, body)
        credentials = self._credentials.get_frozen_credentials()
        signer = LeanSigV4(credentials, self._signing_name, self._region, self._shape)
        # add_auth reads and writes only what a LeanRequest has (see dynaorm.wire.signing).
        signer.add_auth(cast(AWSRequest, request))
        return request

    def send(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send one attempt of ``operation`` and return the parsed response.

        Raises:
            ClientError: The server answered with an error (the class botocore raises).
            BotoCoreError: The connection failed, timed out, or the response was corrupted
                (``ChecksumError``).
        """
        body, headers = self.prepare(operation, params)
        status, response_headers, data = self._post(headers, body)
        return self.read(operation, status, response_headers, data)

    def prepare(self, operation: str, params: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and signed headers of one attempt (what :meth:`send` posts; the async
        transport posts the same).

        Raises:
            NoCredentialsError: The client has no credentials.
        """
        body = encode_request(params)
        headers = self.sign(operation, body).headers
        headers["User-Agent"] = self._user_agent
        return body, headers

    def read(
        self, operation: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """The parsed response for an HTTP answer (``headers`` with lower-case names), as
        botocore parses it; an error answer raises the ``ClientError`` botocore raises."""
        if status >= 300:
            error = error_response(status, headers, body, self._members)
            # botocore's client makes one attempt (dynaorm retries), so it marks every error.
            error["ResponseMetadata"]["MaxAttemptsReached"] = True
            raise self._errors(error["Error"]["Code"])(error, operation)
        parsed = decode_body(body)
        parsed["ResponseMetadata"] = response_metadata(status, headers)
        return parsed

    def _post(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        extra: dict[str, Any] = {}
        read_timeout = attempt_timeout.get()
        if read_timeout is not None:
            extra["timeout"] = urllib3.Timeout(connect=self._connect_timeout, read=read_timeout)
        url = self.url
        try:
            response = self._pool.urlopen(
                "POST",
                self._path,
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=True,
                decode_content=False,
                **extra,
            )
        except Urllib3SSLError as exc:
            raise SSLError(endpoint_url=url, error=exc) from exc
        except (NewConnectionError, socket.gaierror) as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
        except Urllib3ConnectTimeout as exc:
            raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
        except Urllib3ReadTimeout as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except ProtocolError as exc:
            raise ConnectionClosedError(error=exc, request=None, endpoint_url=url) from exc
        except Exception as exc:
            raise HTTPClientError(error=exc) from exc
        data: bytes = response.data
        response_headers = {name.lower(): value for name, value in response.headers.items()}
        check_crc32(response_headers, data)
        return response.status, response_headers, data


def check_crc32(headers: Mapping[str, str], body: bytes) -> None:
    """Raise botocore's ``ChecksumError`` when the ``x-amz-crc32`` header (``headers`` with
    lower-case names) does not match ``body``."""
    expected = headers.get("x-amz-crc32")
    if expected is not None:
        actual = zlib.crc32(body) & 0xFFFFFFFF
        if str(actual) != expected.strip():
            raise ChecksumError(
                checksum_type="crc32", expected_checksum=expected, actual_checksum=str(actual)
            )


_senders: weakref.WeakKeyDictionary[BaseClient, LeanSender | None] = weakref.WeakKeyDictionary()
_senders_lock = threading.Lock()


def lean_sender(client: BaseClient) -> LeanSender | None:
    """The lean sender of ``client`` (one per client, sharing its connection pool), ``None``
    when the data plane must stay on botocore: the client goes through a proxy (botocore's
    proxy handling is kept)."""
    with _senders_lock:
        if client in _senders:
            return _senders[client]
        inner: Any = client
        http = inner._endpoint.http_session
        url, _signing = resolve_endpoint(client)
        sender = None if http._proxy_config.proxy_url_for(url) else LeanSender(client)
        _senders[client] = sender
        return sender
