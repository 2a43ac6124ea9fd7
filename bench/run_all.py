"""Run every benchmark of the project; write one JSON report and a short Markdown table.

    python -m bench.run_all [--quick] [--out bench/results]

Each benchmark runs in its own process (each starts and stops its own engine) and prints one
JSON object; a benchmark that fails is recorded with its error and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS: dict[str, list[str]] = {
    "engine": ["bench.engine"],
    "ingest": ["bench.ingest"],
    "matching": ["bench.matching"],
    "alert_latency": ["bench.alert_latency"],
    "search_load": ["bench.search_load"],
}
HEADLINES: dict[str, list[str]] = {
    "engine": ["cold_start_s", "warm_start_s", "bulk_docs_per_s", "jvm_peak_rss_mb"],
    "ingest": ["articles_per_s", "pipeline_vs_trafilatura", "dedup_precision", "dedup_recall"],
    "matching": ["precision", "recall", "f1", "baseline_f1", "percolate_per_s"],
    "alert_latency": ["p50_s", "p95_s", "max_s", "poll_interval_s", "stories"],
    "search_load": ["p50_ms", "p95_ms", "p99_ms", "first_ask_p95_ms", "errors", "articles"],
}


def run_one(module: list[str], quick: bool, timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", *module, *(["--quick"] if quick else [])]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f}s"}
    elapsed = round(time.monotonic() - started, 1)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return {"error": f"exit {done.returncode}: {tail}", "elapsed_s": elapsed}
    result: dict[str, Any] = json.loads(lines[-1])
    result["elapsed_s"] = elapsed
    return result


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        f"# Benchmark report — {report['finished_at']}",
        "",
        f"Machine: {machine['cpus']} cores, Python {machine['python']}, {machine['platform']};"
        f" {'quick' if report['quick'] else 'full'} runs. Figures from a shared machine:"
        " compare ratios within one run rather than absolute numbers across runs.",
        "",
        "| benchmark | figures |",
        "|---|---|",
    ]
    for name, result in report["results"].items():
        if "error" in result:
            figures = f"failed: {result['error'].splitlines()[0]}"
        else:
            figures = ", ".join(
                f"{key} {json.dumps(result[key], ensure_ascii=False)}"
                for key in HEADLINES[name]
                if key in result
            )
        lines.append(f"| {name} | {figures} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), default=[])
    parser.add_argument("--timeout", type=float, default=3600.0, help="per benchmark, seconds")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name, module in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = run_one(module, args.quick, args.timeout)
        print(json.dumps(results[name], ensure_ascii=False), file=sys.stderr, flush=True)
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    (args.out / "latest.md").write_text(markdown(report), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
