"""`make bench`: every benchmark of bench/ on one production-like stack, printed as ONE table.

    .venv/bin/python bench/run.py [--quick] [--skip-scale] [--skip-jobs] [--keep] [--threads N]

1. bench/stack.py brings up the stack: database ``patronage_bench`` (demo data plus 10,000 patrons),
   Redis db 10, gunicorn with 2 workers under ``config.settings.production`` (DEBUG off).
2. bench/http_bench.py measures the trivial view, the public pages and the webhook intake (wrk for the
   maximum, an open-loop generator for the latency at half the trivial view's maximum), while the web
   workers' memory is sampled, then profiles every page and the webhook under load.
3. The stack stops (also on Ctrl-C or an error). bench/jobs_bench.py (PDF rendering, the January receipt
   batch with 2 Celery worker processes, a Celery worker's peak memory) runs in its own database
   ``patronage_bench_jobs`` and Redis db 11; if it is missing or fails its rows say "not measured".
4. bench/report_scale.py times a month's report at 1 and 10 million postings in databases of its own
   (about 5 minutes; ``--skip-scale`` leaves it out).

The table goes to the terminal and, as Markdown and JSON, to ``var/bench/results.md`` and
``var/bench/results.json`` (var/ is git-ignored), with copies named after the start time; logs and
profiles are in ``var/bench/`` too. ``--quick``: 5-second measurements, a smoke run whose figures are not
comparable; ``--keep``: keep the databases for a look afterwards (report_scale reuses its own);
``--threads N``: an experiment with gunicorn's gthread workers. docs/performance.md holds the latest table.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import http_bench  # noqa: E402
from bench.http_bench import Durations, MemorySampler, Sampler, row  # noqa: E402
from bench.stack import POSTGRES_URL, PYTHON, REDIS_SERVER_URL, VAR, Stack  # noqa: E402

HEADER = ("measure", "value", "unit", "ratio to trivial", "target", "met")


# --- the table --------------------------------------------------------------------------------------


def format_value(value) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def format_ratio(ratio: float | None) -> str:
    """Two decimals, or two significant digits below 0.1 (0.0036 must not read as 0.00)."""
    if ratio is None:
        return ""
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def format_met(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "-"}[met]


def table_cells(rows: list[dict]) -> list[tuple[str, ...]]:
    cells = []
    for item in rows:
        ratio = item.get("ratio")
        cells.append(
            (
                item["name"],
                format_value(item.get("value")),
                item.get("unit") or "",
                format_ratio(ratio),
                item.get("target") or "",
                format_met(item.get("met")),
            )
        )
    return cells


def notes_of(rows: list[dict]) -> list[str]:
    return [f"{item['name']}: {item['note']}" for item in rows if item.get("note")]


def format_text_table(rows: list[dict]) -> str:
    cells = table_cells(rows)
    widths = [max(len(HEADER[i]), *(len(row_cells[i]) for row_cells in cells)) for i in range(len(HEADER))]
    right = {1, 3}  # numbers

    def line(values):
        return " | ".join(
            value.rjust(width) if index in right else value.ljust(width)
            for index, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    lines = [line(HEADER), "-+-".join("-" * width for width in widths)]
    lines += [line(row_cells) for row_cells in cells]
    notes = notes_of(rows)
    if notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in notes]
    return "\n".join(lines)


def format_markdown_table(rows: list[dict]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join(("---", "---:", "---", "---:", "---", "---")) + " |",
    ]
    lines += ["| " + " | ".join(escape(cell) for cell in row_cells) + " |" for row_cells in table_cells(rows)]
    notes = notes_of(rows)
    if notes:
        lines += [""] + [f"- {escape(note)}" for note in notes]
    return "\n".join(lines)


def summary_line(rows: list[dict]) -> str:
    judged = [item for item in rows if item.get("met") is not None]
    met = sum(1 for item in judged if item["met"])
    return f"{met} of {len(judged)} targets met"


# --- the machine ----------------------------------------------------------------------------------------


def machine_info() -> dict:
    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(),
        "load_before": [round(value, 2) for value in os.getloadavg()],
    }


def _postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_URL}/postgres") as connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


class LoadSampler(Sampler):
    """The machine's 1-minute load average and CPU use, every ``interval`` seconds, during the run."""

    def __init__(self, interval: float = 5.0):
        super().__init__(interval)
        self.loads: list[float] = []
        self.cpu: list[float] = []
        self._first = True

    def sample(self) -> None:
        import psutil

        if self._first:  # cpu_percent() measures from its previous call: the first one only starts it
            psutil.cpu_percent()
            self._first = False
            return
        self.loads.append(os.getloadavg()[0])
        self.cpu.append(psutil.cpu_percent())

    def summary(self) -> dict:
        if not self.loads:
            return {}
        return {
            "load_1min_mean": round(sum(self.loads) / len(self.loads), 2),
            "load_1min_max": round(max(self.loads), 2),
            "cpu_percent_mean": round(sum(self.cpu) / len(self.cpu), 1),
        }


# --- the parts ------------------------------------------------------------------------------------------


JOBS_DATABASE_URL = f"{POSTGRES_URL}/patronage_bench_jobs"
JOBS_REDIS_URL = f"{REDIS_SERVER_URL}/11"


def jobs_rows(*, quick: bool, keep: bool, log) -> list[dict]:
    """bench/jobs_bench.py's rows (its own database ``patronage_bench_jobs`` and Redis db 11); rows that
    say "not measured" if it is missing or fails."""
    names = (
        "PDF rendering: receipt, invoice, monthly report",
        "January receipt batch, 10,000 donors, 2 Celery workers",
        "Celery worker: peak memory (RSS)",
    )
    try:
        module = importlib.import_module("bench.jobs_bench")
    except ModuleNotFoundError as error:
        if error.name != "bench.jobs_bench":
            raise
        return [row(name, None, "", note="bench/jobs_bench.py is missing") for name in names]
    log("PDF rendering, receipt batch, Celery memory (bench/jobs_bench.py, its own database)")
    try:
        parameters = inspect.signature(module.run).parameters
        options = {"quick": quick, "keep": keep}
        rows = module.run(
            database_url=JOBS_DATABASE_URL,
            redis_url=JOBS_REDIS_URL,
            **{key: value for key, value in options.items() if key in parameters},
        )
    except Exception as error:  # noqa: BLE001 - one failing part must not lose the others' figures
        (VAR / "jobs_bench-error.txt").write_text(traceback.format_exc())
        log(f"bench/jobs_bench.py failed: {error!r} (traceback in var/bench/jobs_bench-error.txt)")
        return [row(name, None, "", note=f"bench/jobs_bench.py failed: {error!r}") for name in names]
    return [{"ratio": None, "note": "", **item} for item in rows]


def report_scale_rows(*, keep: bool, log) -> tuple[list[dict], list | None]:
    """bench/report_scale.py with its default parameters (1 and 10 million postings)."""
    out = VAR / "report_scale.json"
    out.unlink(missing_ok=True)
    command = [str(PYTHON), str(ROOT / "bench" / "report_scale.py"), "--json", str(out)]
    if keep:
        command.append("--keep")
    log("report at 1 and 10 million postings (bench/report_scale.py, log in var/bench/report_scale.log)")
    with open(VAR / "report_scale.log", "w") as log_file:
        done = subprocess.run(command, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, timeout=35 * 60)
    if done.returncode or not out.exists():
        note = f"bench/report_scale.py exited with {done.returncode}; see var/bench/report_scale.log"
        return [row("monthly report at 1 and 10 million postings", None, "", target="< 1 s", note=note)], None
    results = json.loads(out.read_text())
    return report_rows(results), results


def report_rows(results: list[dict]) -> list[dict]:
    """Rows from report_scale.py's JSON: each size's median warm time, and the largest against the smallest."""
    import statistics

    rows = []
    for result in results:
        median = statistics.median(result["samples_ms"])
        rows.append(
            row(
                f"monthly report at {result['postings']:,} postings (median warm)",
                median,
                "ms",
                target="< 1000 ms",
                met=median < 1000,
                note=f"cold {result['report_cold_ms']:.0f} ms, {result['queries']} queries, "
                f"{result['buffers']} buffers",
            )
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = statistics.median(large["samples_ms"]) / statistics.median(small["samples_ms"])
        rows.append(
            row(
                f"report time {large['postings'] // 1_000_000} M / {small['postings'] // 1_000_000} M postings",
                ratio,
                "x",
                target="within 20 %",
                met=abs(ratio - 1) <= 0.20,
            )
        )
    return rows


def memory_row(sampler: MemorySampler) -> dict:
    return row(
        "web worker (gunicorn): peak memory (RSS)",
        sampler.peak_bytes / 2**20 if sampler.samples else None,
        "MiB",
        target="reported",
        note=f"largest of the {sampler.samples} samples (every {sampler.interval} s) over both web workers",
    )


def profiles(stack, details: dict, *, seconds: float, log) -> dict:
    """cProfile under load of each public page, slowest first, and of the webhook: var/bench/profile-*.txt."""
    result = {}
    pages = sorted(
        (details.get("pages") or {}).items(), key=lambda item: item[1]["maximum"]["requests_per_second"]
    )
    targets = [(name, page["path"], 0) for name, page in pages]
    webhook = (details.get("webhook") or {}).get("maximum")
    if webhook:
        events = int(webhook["requests_per_second"] * (seconds + 5) * 1.5) + 500
        targets.append(("webhook", http_bench.WEBHOOK_PATH, events))
    for name, path, load_events in targets:
        out = VAR / f"profile-{name.replace(' ', '-')}.txt"
        try:
            headline = http_bench.profile_under_load(
                stack, path, seconds=seconds, out=out, log=log, load_events=load_events
            )
        except Exception as error:  # noqa: BLE001 - a profile is a note; the figures matter more
            log(f"profile of {path} failed: {error!r}")
            result[name] = {"path": path, "error": repr(error)}
            continue
        result[name] = {"path": path, "file": str(out.relative_to(ROOT)), "headline": headline}
    return result


# --- main -----------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements: a smoke run")
    parser.add_argument(
        "--skip-scale", action="store_true", help="leave out the report at 1 and 10 M postings"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--skip-jobs", action="store_true", help="leave out bench/jobs_bench.py")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="an experiment: gunicorn --threads N (gthread workers; default 1, sync)",
    )
    args = parser.parse_args(argv)

    VAR.mkdir(parents=True, exist_ok=True)
    for name in ("setup.log", "gunicorn.log", "celery.log"):
        (VAR / name).unlink(missing_ok=True)
    durations = Durations.quick() if args.quick else Durations()
    started = datetime.datetime.now(datetime.UTC)
    machine = machine_info()
    say(
        f"machine: {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu_model']}, load {machine['load_before']}"
    )
    rows: list[dict] = []
    details: dict = {}
    status = 0
    load = LoadSampler()
    with load:
        try:
            with Stack(keep=args.keep, web_threads=args.threads, log=say) as stack:
                stack.prepare()
                details["data"] = stack.describe_data()
                stack.web_start()
                with MemorySampler(stack.web_worker_pids) as web_memory:
                    http_rows, details["http"] = http_bench.run(stack, durations=durations, log=say)
                    rows += http_rows
                    stack.celery_stop()
                    details["profiles"] = profiles(stack, details["http"], seconds=durations.maximum, log=say)
                rows.append(memory_row(web_memory))
                details["web_memory"] = {"peak_bytes": web_memory.peak_bytes, "samples": web_memory.samples}
            if args.skip_jobs:
                rows.append(row("PDF rendering, receipt batch, Celery memory", None, "", note="--skip-jobs"))
            else:
                rows += jobs_rows(quick=args.quick, keep=args.keep, log=say)
            if args.skip_scale:
                rows.append(row("monthly report at 1 and 10 million postings", None, "", note="--skip-scale"))
            else:
                scale_rows, details["report_scale"] = report_scale_rows(keep=args.keep, log=say)
                rows += scale_rows
        except KeyboardInterrupt:
            say("interrupted: the stack is stopped; the table has what was measured until then")
            rows.append(row("(run interrupted)", None, "", note="Ctrl-C or SIGTERM"))
            status = 130
        except Exception as error:  # noqa: BLE001 - still print and keep what was measured
            (VAR / "run-error.txt").write_text(traceback.format_exc())
            say(f"failed: {error!r} (traceback in var/bench/run-error.txt); the stack is stopped")
            rows.append(row("(run failed)", None, "", note=repr(error)))
            status = 1
    finished = datetime.datetime.now(datetime.UTC)
    machine["load_during"] = load.summary()
    machine["load_after"] = [round(value, 2) for value in os.getloadavg()]
    write_results(rows, details, machine=machine, args=args, started=started, finished=finished)
    return status


def write_results(rows, details, *, machine, args, started, finished) -> None:
    options = " ".join(
        flag
        for flag, on in (
            ("--quick", args.quick),
            ("--skip-scale", args.skip_scale),
            ("--skip-jobs", args.skip_jobs),
            ("--keep", args.keep),
            (f"--threads {args.threads}", args.threads > 1),
        )
        if on
    )
    heading = (
        f"make bench ({options or 'full run'}), {started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC; "
        f"{machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu_model']}; "
        f"load before {machine['load_before']}, during {machine.get('load_during')}; {summary_line(rows)}"
    )
    print()
    print(heading)
    print()
    print(format_text_table(rows))
    markdown = f"{heading}\n\n{format_markdown_table(rows)}\n"
    stamp = f"{started:%Y%m%d-%H%M}"
    (VAR / "results.md").write_text(markdown)
    (VAR / f"results-{stamp}.md").write_text(markdown)
    document = {
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "options": {
            "quick": args.quick,
            "skip_scale": args.skip_scale,
            "skip_jobs": args.skip_jobs,
            "keep": args.keep,
            "threads": args.threads,
        },
        "machine": machine,
        "rows": rows,
        "details": details,
    }
    text = json.dumps(http_bench._json_safe(document), indent=2, default=str)
    (VAR / "results.json").write_text(text)
    (VAR / f"results-{stamp}.json").write_text(text)
    print(f"\nwritten: {VAR.relative_to(ROOT)}/results.md and results.json (and results-{stamp}.*)")


if __name__ == "__main__":
    sys.exit(main())
