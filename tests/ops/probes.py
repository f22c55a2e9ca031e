"""What the ops tests share: /metrics read and parsed as Prometheus reads it, the settings of
/readyz and /metrics for a test, and a real `propdesk monitor` process."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "test-metrics-token-0123456789abcdef"


def configure(settings: Any, **changes: Any) -> None:
    """This test's /readyz and /metrics settings (settings.OPS, as PROPDESK_* would set them)."""
    settings.OPS = replace(settings.OPS, **changes)


def scrape(http: Any, token: str = TOKEN) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics scrape, by its name and labels."""
    response = http.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def families(text: str) -> dict[str, str]:
    """Each metric family's name and type."""
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    """The sample's value; None when the scrape has no such series (a test that expects 0
    must not pass because the series is gone)."""
    return samples.get((name, frozenset(labels.items())))


def count(samples: dict[Any, float], name: str, **labels: str) -> float:
    """A counter's value, 0 when it has not counted yet (a request series appears at its
    first request): for the figure before something happens only."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def start_monitor(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`propdesk monitor` in a process of its own (its output in `log`)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "propdesk.cli", "monitor"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
