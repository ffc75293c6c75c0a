"""The lean signer (botocore's SigV4 with the constant parts worked out once) signs exactly
as botocore's unchanged ``SigV4Auth``, whatever sequence of secrets, tokens and days a sender
signs with: its kept signing key never signs for another secret or day."""

from __future__ import annotations

import datetime
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import given, settings, strategies as st

from dynaorm.wire.signing import LeanRequest, LeanSigV4, RequestShape

URLS = (
    "https://dynamodb.eu-west-1.amazonaws.com/",
    "http://127.0.0.1:8765/",
    "http://LocalHost:80/",
    "https://dynamodb.us-east-1.amazonaws.com:8443/base/path",
)
HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target", "Content-Type")

signings = st.tuples(
    st.sampled_from(("secret-a", "secret-b", "s/é+")),
    st.one_of(st.none(), st.sampled_from(("token", "a  spaced\ttoken"))),
    st.sampled_from(
        (
            datetime.datetime(2026, 1, 2, 3, 4, 5),
            datetime.datetime(2026, 1, 2, 23, 59, 59),
            datetime.datetime(2026, 1, 3, 0, 0, 0),
        )
    ),
    st.sampled_from(("GetItem", "PutItem", "Query")),
    st.binary(max_size=40),
)


def _botocore(url: str, target: str, body: bytes, credentials: ReadOnlyCredentials) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
    return request


@settings(max_examples=60, deadline=None)
@given(url=st.sampled_from(URLS), sequence=st.lists(signings, min_size=1, max_size=6))
def test_lean_signatures_equal_botocore_signatures(
    url: str, sequence: list[tuple[str, str | None, datetime.datetime, str, bytes]]
) -> None:
    shape = RequestShape(url)
    for secret, token, now, operation, body in sequence:
        credentials = ReadOnlyCredentials("AKIDEXAMPLE", secret, token)
        target = f"DynamoDB_20120810.{operation}"
        with mock.patch("botocore.auth.get_current_datetime", return_value=now):
            expected = _botocore(url, target, body, credentials)
            ours = LeanRequest(
                url, {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}, body
            )
            LeanSigV4(credentials, "dynamodb", "eu-west-1", shape).add_auth(ours)
        for name in HEADERS:
            if name in expected.headers:
                assert ours.headers[name] == expected.headers[name], name
            else:
                assert name not in ours.headers
        assert list(ours.headers) == list(expected.headers.keys())


def test_the_kept_key_is_for_the_last_secret_only() -> None:
    shape = RequestShape(URLS[0])
    for secret in ("first-secret", "second-secret"):
        request = LeanRequest(URLS[0], {"X-Amz-Target": "T.GetItem", "Content-Type": "x"}, b"")
        credentials = ReadOnlyCredentials("AKID", secret, None)
        LeanSigV4(credentials, "dynamodb", "eu-west-1", shape).add_auth(request)
    assert "first-secret" not in repr(shape._key)
