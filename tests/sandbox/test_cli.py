"""`sandbox_command` prints ready-to-paste exports, serves, and exits cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests


def test_cli_prints_exports_serves_and_stops_on_ctrl_c():
    """The printed token works against the printed URL, the currency options shape the org;
    SIGINT exits with status 0."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sandbox.cli import sandbox_command; sandbox_command()",
            "--opportunities",
            "50",
            "--seed",
            "1",
            "--single-currency",
            "--currency",
            "GBP",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        exports = dict(
            proc.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(5)
        )
        url = exports["SFSYNC_SF_INSTANCE_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert exports["SFSYNC_SF_LOGIN_URL"] == url
        assert exports["SFSYNC_SF_CONSUMER_KEY"] and exports["SFSYNC_SF_CONSUMER_SECRET"]
        reply = requests.get(
            url + "/services/data/v59.0/query",
            params={"q": "SELECT COUNT() FROM Opportunity"},
            headers={"Authorization": "Bearer " + exports["SFSYNC_SF_ACCESS_TOKEN"].strip("'")},
            timeout=5,
        )
        assert reply.json()["totalSize"] == 50
        organization = requests.get(
            url + "/services/data/v59.0/query",
            params={"q": "SELECT DefaultCurrencyIsoCode, IsMultiCurrencyOrg FROM Organization"},
            headers={"Authorization": "Bearer " + exports["SFSYNC_SF_ACCESS_TOKEN"].strip("'")},
            timeout=5,
        ).json()["records"][0]
        assert (organization["DefaultCurrencyIsoCode"], organization["IsMultiCurrencyOrg"]) == (
            "GBP",
            False,
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
