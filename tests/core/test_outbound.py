from __future__ import annotations

import io
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from propdesk.core.outbound import OPENER, in_clear_elsewhere, plain_http_allowed, read_bounded
from propdesk.fakes_common import FaultQueue


class _Redirecting(BaseHTTPRequestHandler):
    followed: list[str] = []

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == "/elsewhere":
            self.followed.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", "/elsewhere")
        self.end_headers()


@pytest.fixture
def redirecting_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _Redirecting.followed = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_a_redirect_is_an_error_and_the_key_never_goes_to_where_it_points(redirecting_server):
    request = urllib.request.Request(
        redirecting_server + "/start", headers={"Authorization": "Bearer sk_secret"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        OPENER.open(request, timeout=5)
    assert refused.value.code == 302
    assert _Redirecting.followed == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.example.com", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://api.example.com", False),
        ("https://", False),
        ("ftp://127.0.0.1", False),
        ("http://[::1", False),
    ],
)
def test_plain_http_is_allowed_only_to_this_machine(url, allowed):
    assert plain_http_allowed(url) is allowed


@pytest.mark.parametrize(
    ("url", "in_clear"),
    [
        ("http://api.example.com", True),
        ("HTTP://api.example.com", True),
        ("http://127.0.0.1:9000", False),
        ("https://api.example.com", False),
    ],
)
def test_a_key_would_cross_the_network_in_clear_only_over_plain_http_to_elsewhere(url, in_clear):
    assert in_clear_elsewhere(url) is in_clear


def test_an_answer_is_read_up_to_its_limit_and_a_longer_one_is_refused():
    assert read_bounded(io.BytesIO(b"12345"), 5) == b"12345"
    assert read_bounded(io.BytesIO(b"123456"), 5) is None


def test_a_fault_hits_only_the_next_requests_that_match_and_once_each():
    faults = FaultQueue()
    faults.add("fail", 2, status=503, method="post", path="^/v1/")
    assert faults.take("fail", "GET", "/v1/x") is None
    assert faults.take("fail", "POST", "/v2/x") is None
    assert faults.take("delay", "POST", "/v1/x") is None
    assert faults.take("fail", "POST", "/v1/x")["status"] == 503
    assert faults.take("fail", "POST", "/v1/y")["status"] == 503
    assert faults.take("fail", "POST", "/v1/z") is None


def test_a_bad_path_pattern_is_refused_in_the_vendors_own_words():
    faults = FaultQueue(lambda path: ValueError(f"not a pattern: {path}"))
    with pytest.raises(ValueError, match=r"not a pattern: \("):
        faults.add("fail", 1, path="(")
    assert faults.pending == []
