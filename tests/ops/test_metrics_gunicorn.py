"""/metrics under gunicorn with several worker processes (as `propdesk serve` runs the site):
with PROMETHEUS_MULTIPROC_DIR set, a scrape counts the requests every process answered."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from propdesk.ops import metrics
from propdesk.processes import gunicorn_argv
from tests.challenges.factories import database_shared_with_processes, eventually
from tests.ops.probes import TOKEN, families, parse, value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""
    except OSError:
        return 0, ""


@pytest.mark.django_db(transaction=True)
def test_a_scrape_counts_the_requests_of_every_gunicorn_worker(tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with database_shared_with_processes(tmp_path) as env, log.open("ab") as out:
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PROPDESK_METRICS_TOKEN": TOKEN}
        # `propdesk serve`'s gunicorn, one thread a worker: a worker answering cannot take
        # the next connection, so requests sent at once reach both.
        argv = gunicorn_argv("127.0.0.1", port, 2)
        argv[argv.index("--threads") + 1] = "1"
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: get(f"{base}/healthz")[0] == 200, what="gunicorn answering")
            sent = 1
            # Until both workers have answered some (each keeps its counts in files of its own;
            # the second may still be starting): bursts a tenth of a second apart, a minute
            # at most.
            until = time.monotonic() + 60
            with ThreadPoolExecutor(4) as pool:
                while len(list(folder.glob("counter_*.db"))) < 2 and time.monotonic() < until:
                    answers = list(pool.map(get, [f"{base}/healthz"] * 8))
                    assert answers == [(200, '{"status": "ok"}')] * 8
                    sent += 8
                    time.sleep(0.1)
            assert len(list(folder.glob("counter_*.db"))) >= 2, "one worker answered everything"
            status, text = get(f"{base}/metrics", TOKEN)
            assert status == 200
            found = parse(text)
            healthz = {"method": "GET", "route": "healthz", "status": "200"}
            assert value(found, "propdesk_http_requests_total", **healthz) == sent
            assert families(text)["propdesk_jobs"] == "gauge"  # the database's, at the scrape
            assert get(f"{base}/metrics")[0] == 401
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_a_multiprocess_directory_that_is_not_there_stops_the_web_process_naming_it(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(ImproperlyConfigured, match="PROMETHEUS_MULTIPROC_DIR"):
        metrics.check_multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": missing})
    metrics.check_multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    metrics.check_multiprocess_dir({})
