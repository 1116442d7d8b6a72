"""The access log's request target: query values and the Outbound Message token masked."""

from __future__ import annotations

import logging

import pytest

from sfsync.api.access_log import AccessLogRedaction, redact_target


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/v1/customers", "/v1/customers"),
        ("/v1/customers?api_key=sfsync_ab_secret&limit=5", "/v1/customers?api_key=***&limit=***"),
        ("/v1/customers?flag&key=", "/v1/customers?flag&key=***"),
        ("/salesforce/outbound-message/s3cretTOKEN", "/salesforce/outbound-message/***"),
        ("/salesforce/outbound-message/s3cret?x=1", "/salesforce/outbound-message/***?x=***"),
    ],
)
def test_the_request_target_is_logged_without_its_credentials(target: str, logged: str) -> None:
    """Parameter names and the path stay; values and the listener's token do not."""
    assert redact_target(target) == logged


def test_the_filter_rewrites_uvicorns_access_record() -> None:
    """The target argument of uvicorn's access record is the one rewritten."""
    record = logging.makeLogRecord(
        {
            "msg": '%s - "%s %s HTTP/%s" %d',
            "args": ("127.0.0.1:5", "GET", "/v1/customers?api_key=sfsync_x_y", "1.1", 401),
        }
    )
    assert AccessLogRedaction().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /v1/customers?api_key=*** HTTP/1.1" 401'
