"""Scraping `/metrics` of a live server into samples a test can look up."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import LiveServer

__all__ = ["Samples", "parse", "scrape", "value"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: LiveServer, token: str) -> Samples:
    with server.http(token) as http:
        return parse(http.get("/metrics"))


def parse(response: httpx.Response) -> Samples:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]
