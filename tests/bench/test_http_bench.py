"""`make bench`'s own pieces: the trivial baseline view, reading wrk's and report_scale's results, the table.

The benchmarks themselves are not run here (they need minutes and a quiet machine); these tests check the
code that turns their output into the figures of docs/performance.md. Nothing here asserts on speed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import socket
import threading
from types import SimpleNamespace

import pytest

from bench import http_bench, run
from bench.http_bench import Request, latency_text, parse_wrk_output, percentile, row, status_of

# --- the trivial view -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_trivial_view_is_not_found_unless_the_setting_is_on(client, settings):
    settings.BENCH_TRIVIAL_VIEW = False

    assert client.get("/bench/trivial/").status_code == 404


def test_trivial_view_answers_ok_without_the_database_when_enabled(client, settings):
    settings.BENCH_TRIVIAL_VIEW = True

    response = client.get("/bench/trivial/")  # no django_db mark: a query would fail the test

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_trivial_view_refuses_a_post(client, settings):
    settings.BENCH_TRIVIAL_VIEW = True

    assert client.post("/bench/trivial/").status_code == 405


# --- wrk's summary ----------------------------------------------------------------------------------------

WRK_TEXT = """Running 10s test @ http://127.0.0.1:8000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    34.55ms   26.94ms 623.66ms   92.76%
  5020 requests in 5.05s, 3.25MB read
Requests/sec:    994.23
WRK_JSON {"duration_us":5000000,"requests":5020,"bytes":3406264,"errors_connect":0,"errors_read":0,\
"errors_write":0,"errors_status":20,"errors_timeout":3,"latency_mean_us":34554.4,"latency_max_us":623658,\
"latency_p50_us":29116,"latency_p90_us":53133,"latency_p99_us":114766,"stored":4990,"sent":5030}
"""


def test_wrk_summary_counts_only_good_answers_per_second():
    result = parse_wrk_output(WRK_TEXT)

    assert result["seconds"] == 5.0
    assert result["good_requests"] == 5000  # 5,020 answers, 20 of them not 2xx/3xx
    assert result["requests_per_second"] == 1000.0
    assert result["errors"] == 23
    assert result["latency_p99_us"] == 114766
    assert result["stored"] == 4990  # the webhook script's own counters come along


def test_wrk_output_without_the_report_script_is_an_error():
    with pytest.raises(ValueError, match="WRK_JSON"):
        parse_wrk_output("Running 10s test @ http://127.0.0.1:8000/\nRequests/sec: 994.23\n")


# --- the open-loop generator ----------------------------------------------------------------------------


def test_percentile_is_nearest_rank_and_counts_a_timeout_as_slowest():
    values = [float(n) for n in range(1, 101)]  # 1..100

    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([*values[:99], math.inf], 100) == math.inf
    assert math.isnan(percentile([], 50))


def test_request_is_sent_as_http_1_1_with_its_body_length():
    request = Request("POST", "/stripe/webhook/", {"Stripe-Signature": "t=1,v1=ab"}, b'{"id":"evt_1"}')

    raw = request.raw("127.0.0.1:8000")

    head, body = raw.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /stripe/webhook/ HTTP/1.1"
    assert b"Host: 127.0.0.1:8000" in head
    assert b"Content-Length: 14" in head
    assert b"Stripe-Signature: t=1,v1=ab" in head
    assert body == b'{"id":"evt_1"}'


def test_status_of_reads_the_status_line():
    assert status_of(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nok") == 200
    assert status_of(b"HTTP/1.0 503 Service Unavailable\r\n\r\n") == 503
    assert status_of(b"") == 0


def test_latency_text_shows_timeouts_as_more_than_the_timeout():
    assert latency_text(12.345) == "12.3"
    assert latency_text(math.inf) == "> 10 s"


@pytest.fixture
def tiny_server():
    """A loopback server that answers every request with 200 "stored" and closes, like gunicorn's sync worker."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\nstored")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: in the full suite, pytest-playwright keeps an event loop running
    in the main thread, and asyncio.run refuses to start inside it."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


def test_open_loop_sends_every_request_once_and_reports_which_were_acknowledged(tiny_server):
    requests = [Request("POST", "/stripe/webhook/", {}, b"{}", key=f"evt_{n}") for n in range(20)]

    result = run_in_own_loop(http_bench.open_loop(url=tiny_server, requests=requests, rate=200.0))

    assert result["sent"] == 20
    assert result["ok"] == 20
    assert result["statuses"] == {"200": 20}
    assert [item["key"] for item in result["acknowledged"]] == [f"evt_{n}" for n in range(20)]
    assert {item["answer"] for item in result["acknowledged"]} == {"stored"}
    assert 0 <= result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


def test_open_loop_counts_a_refused_connection_as_a_failure():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = run_in_own_loop(
        http_bench.open_loop(url=f"http://127.0.0.1:{port}", requests=[Request("GET", "/")] * 3, rate=100.0)
    )

    assert result["ok"] == 0
    assert result["statuses"] == {"-1": 3}


# --- webhook events ---------------------------------------------------------------------------------------


def test_webhook_events_are_new_signed_stripe_events(tmp_path):
    from payments.signing import verify

    requests = http_bench.webhook_requests(3, prefix="benchtest", secret="whsec_x")
    path = tmp_path / "events.tsv"
    http_bench.write_requests(path, requests)
    again = http_bench.read_requests(path)

    assert [request.key for request in again] == [
        "evt_benchtest00000000",
        "evt_benchtest00000001",
        "evt_benchtest00000002",
    ]
    for request in again:
        event = verify(payload=request.body, header=request.headers["Stripe-Signature"], secret="whsec_x")
        assert event["id"] == request.key
        assert event["type"] == "checkout.session.expired"
        assert event["data"]["object"]["metadata"]["purpose"] == "patronage"
    assert len({request.body for request in again}) == 3


def test_webhook_event_file_has_one_event_a_line_for_the_wrk_script(tmp_path):
    path = tmp_path / "events.tsv"
    http_bench.write_requests(path, http_bench.webhook_requests(2, prefix="benchtest", secret="whsec_x"))

    lines = path.read_text().splitlines()

    assert len(lines) == 2
    key, signature, body = lines[0].split("\t")
    assert key == "evt_benchtest00000000"
    assert signature.startswith("t=") and ",v1=" in signature
    assert json.loads(body)["id"] == key


# --- the table --------------------------------------------------------------------------------------------

ROWS = [
    row("trivial view: max req/s (32 connections)", 1000, "req/s", ratio=1.0, target="baseline"),
    row("home (/): max req/s", 420, "req/s", ratio=0.42, target=">= 0.5 x trivial", met=False),
    row("home: p50 / p99 at 500 req/s", "8.1 / 31.0", "ms", target="p99 < 50 ms", met=True),
    row("web worker (gunicorn): peak memory (RSS)", 143.4567, "MiB", target="reported"),
    row("receipt batch", None, "", note="bench/jobs_bench.py is missing"),
]


def test_text_table_has_one_line_per_measure_with_ratio_and_verdict():
    text = run.format_text_table(ROWS)
    lines = text.splitlines()

    assert lines[0].split(" | ")[0].strip() == "measure"
    assert "0.42" in lines[3] and "NOT met" in lines[3]
    assert lines[4].rstrip().endswith("met") and "31.0" in lines[4]
    assert "143" in lines[5]
    assert "not measured" in lines[6]
    assert "- receipt batch: bench/jobs_bench.py is missing" in text


def test_markdown_table_escapes_pipes_and_lists_the_notes():
    rows = [*ROWS, row("a | b", 1.5, "s", target="< 2 s", met=True, note="x | y")]

    markdown = run.format_markdown_table(rows)
    lines = markdown.splitlines()

    assert lines[0] == "| measure | value | unit | ratio to trivial | target | met |"
    assert len([line for line in lines if line.startswith("| ")]) == 2 + len(rows)
    assert "| a \\| b | 1.50 | s |  | < 2 s | met |" in lines
    assert "- a \\| b: x \\| y" in lines


def test_values_are_formatted_for_reading():
    assert run.format_value(12345) == "12,345"
    assert run.format_value(1234.6) == "1,235"
    assert run.format_value(12.345) == "12.3"
    assert run.format_value(0.4567) == "0.46"
    assert run.format_value(None) == "not measured"
    assert run.format_value("8.1 / 31.0") == "8.1 / 31.0"


def test_small_ratios_keep_two_significant_digits():
    assert run.format_ratio(1.0) == "1.00"
    assert run.format_ratio(0.456) == "0.46"
    assert run.format_ratio(0.0291) == "0.029"
    assert run.format_ratio(0.0036) == "0.0036"
    assert run.format_ratio(None) == ""


def test_summary_counts_only_rows_with_a_verdict():
    assert run.summary_line(ROWS) == "1 of 2 targets met"


def test_report_rows_compare_the_largest_ledger_with_the_smallest():
    results = [
        {
            "postings": 1_000_000,
            "samples_ms": [100.0, 110.0, 90.0],
            "report_cold_ms": 300.0,
            "queries": 12,
            "buffers": 800,
        },
        {
            "postings": 10_000_000,
            "samples_ms": [120.0, 115.0, 125.0],
            "report_cold_ms": 420.0,
            "queries": 12,
            "buffers": 820,
        },
    ]

    rows = run.report_rows(results)

    assert [item["value"] for item in rows] == [100.0, 120.0, pytest.approx(1.2)]
    assert rows[0]["met"] is True and rows[1]["met"] is True
    assert rows[2]["met"] is True  # 20 % slower is still within 20 %
    assert rows[2]["name"] == "report time 10 M / 1 M postings"


def test_report_rows_fail_a_ledger_that_grows_the_time():
    results = [
        {"postings": 1_000_000, "samples_ms": [100.0], "report_cold_ms": 1.0, "queries": 1, "buffers": 1},
        {"postings": 10_000_000, "samples_ms": [1500.0], "report_cold_ms": 1.0, "queries": 1, "buffers": 1},
    ]

    rows = run.report_rows(results)

    assert rows[1]["met"] is False
    assert rows[2]["met"] is False


def test_missing_jobs_bench_is_reported_as_not_measured(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(run.importlib, "import_module", missing)

    rows = run.jobs_rows(quick=True, keep=False, log=lambda message: None)

    assert rows and all(item["value"] is None for item in rows)
    assert all("missing" in item["note"] for item in rows)


def test_jobs_bench_rows_get_the_table_columns_they_lack(monkeypatch):
    calls = []

    def fake_run(*, database_url, redis_url, quick=False):
        calls.append((database_url, redis_url, quick))
        return [{"name": "receipt PDF", "value": 0.2, "unit": "s", "target": "< 0.5 s", "met": True}]

    monkeypatch.setattr(run.importlib, "import_module", lambda name: SimpleNamespace(run=fake_run))

    rows = run.jobs_rows(quick=True, keep=True, log=lambda message: None)

    assert calls == [(run.JOBS_DATABASE_URL, run.JOBS_REDIS_URL, True)]  # keep is not among its parameters
    assert "bench" in run.JOBS_DATABASE_URL and run.JOBS_REDIS_URL.endswith("/11")
    assert rows == [
        {
            "name": "receipt PDF",
            "value": 0.2,
            "unit": "s",
            "target": "< 0.5 s",
            "met": True,
            "ratio": None,
            "note": "",
        }
    ]
