"""SigV4 for the lean transport: botocore's own ``SigV4Auth``, with what does not change
between two requests of one sender worked out once.

Every lean request has the same shape: ``POST`` to one URL, a JSON body, and the headers
``X-Amz-Target``, ``Content-Type``, ``X-Amz-Date`` and (with temporary credentials)
``X-Amz-Security-Token``. botocore's ``SigV4Auth.add_auth`` drives each signature (its clock,
its string to sign, its HMACs), but :class:`LeanSigV4` answers the steps that would re-derive
the constant parts on every call: the host, path and query of the canonical request, the
signed-header list, and the signing key (derived from the secret, date, region and service
once, not four HMACs per request). ``tests/wire/test_lean_equivalence.py`` checks the
headers are byte for byte the ones botocore's unchanged signer gives.

The signing key is kept for the current secret and day only: a sender holds one key, which
the next secret or date replaces, so no old secret outlives its rotation.

Example:
    >>> shape = RequestShape("https://dynamodb.eu-west-1.amazonaws.com/")
    >>> shape.host
    'dynamodb.eu-west-1.amazonaws.com'
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import urlsplit
from botocore.credentials import ReadOnlyCredentials

__all__ = ["LeanRequest", "LeanSigV4", "RequestShape"]


class RequestShape:
    """What every request of one sender shares, for its canonical request: the host header,
    the normalized path and the canonical query string, as botocore's signer works them out
    from the URL.

    Args:
        url: The endpoint requests are posted to.
    """

    __slots__ = ("_key", "host", "path", "query", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        probe: Any = SigV4Auth(  # (its private helpers, used once)
            ReadOnlyCredentials("probe", "probe", None), "dynamodb", "us-east-1"
        )
        self.host: str = probe.headers_to_sign(AWSRequest(method="POST", url=url))["host"]
        self.path: str = probe._normalize_url_path(urlsplit(url).path)
        self.query: str = probe._canonical_query_string_url(urlsplit(url))
        # (secret, date, region, service, signing key) of the last signature, or None.
        self._key: tuple[str, str, str, str, bytes] | None = None


class LeanRequest:
    """The parts of botocore's ``AWSRequest`` its signer reads and writes, with the headers
    a plain dict (header names spelled as botocore spells them).

    Attributes:
        url: The endpoint.
        headers: The request headers, the signature's among them once signed.
        body: The request body.
    """

    __slots__ = ("body", "context", "headers", "method", "params", "url")

    def __init__(self, url: str, headers: dict[str, str], body: bytes) -> None:
        self.method = "POST"
        self.url = url
        self.headers = headers
        self.body = body
        self.context: dict[str, Any] = {}
        self.params: dict[str, Any] = {}


def _hmac(key: bytes, message: str) -> hmac.HMAC:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256)


def _trimmed(value: str) -> str:
    # SigV4's Trimall of a header value, as botocore applies it.
    return " ".join(value.split())


class LeanSigV4(SigV4Auth):
    """botocore's ``SigV4Auth`` for a :class:`LeanRequest` of a sender's
    :class:`RequestShape` (see the module docs)."""

    def __init__(
        self, credentials: Any, service_name: str, region_name: str, shape: RequestShape
    ) -> None:
        super().__init__(credentials, service_name, region_name)
        self._shape = shape
        self._scope = (region_name, service_name)

    def _modify_request_before_signing(self, request: Any) -> None:
        headers = request.headers
        headers.pop("Authorization", None)
        headers.pop("X-Amz-Date", None)
        headers["X-Amz-Date"] = request.context["timestamp"]
        token = self.credentials.token
        if token:
            headers.pop("X-Amz-Security-Token", None)
            headers["X-Amz-Security-Token"] = token

    def _signed_names(self) -> str:
        if self.credentials.token:
            return "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        return "content-type;host;x-amz-date;x-amz-target"

    def canonical_request(self, request: Any) -> str:
        shape = self._shape
        headers = request.headers
        token = headers.get("X-Amz-Security-Token")
        secured = f"x-amz-security-token:{_trimmed(token)}\n" if token else ""
        return (
            f"POST\n{shape.path}\n{shape.query}\n"
            f"content-type:{_trimmed(headers['Content-Type'])}\nhost:{shape.host}\n"
            f"x-amz-date:{headers['X-Amz-Date']}\n{secured}"
            f"x-amz-target:{_trimmed(headers['X-Amz-Target'])}\n\n"
            f"{self._signed_names()}\n{hashlib.sha256(request.body).hexdigest()}"
        )

    def signature(self, string_to_sign: str, request: Any) -> str:
        shape = self._shape
        secret = str(self.credentials.secret_key)
        date = request.context["timestamp"][0:8]
        region, service = self._scope
        kept = shape._key
        if kept is not None and kept[:4] == (secret, date, region, service):
            key = kept[4]
        else:
            # botocore's derivation: date, region, service, "aws4_request" in turn.
            key = f"AWS4{secret}".encode()
            for part in (date, region, service, "aws4_request"):
                key = _hmac(key, part).digest()
            shape._key = (secret, date, region, service, key)  # one tuple: atomic
        return _hmac(key, string_to_sign).hexdigest()

    def _inject_signature_to_request(self, request: Any, signature: str) -> Any:
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.scope(request)}, "
            f"SignedHeaders={self._signed_names()}, Signature={signature}"
        )
        return request
