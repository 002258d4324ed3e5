"""Time batch mode against the floor, in one run, and measure its memory at two sizes.

    .venv/bin/python benchmarks/bench.py --cases 100000 --small 25000 --jobs 2

Generates (untimed, seeded) the caseloads with `generate.py`, then times:

(a) the floor: reading the JSONL file and JSON-decoding every line, with each
    event's date parsed (``date.fromisoformat``): what any tool must do;
(b) ``whp-audit batch`` end to end (a fresh process: start-up, validation,
    replay, findings, audits.jsonl, findings.csv, index.html), with its peak
    RSS, at both sizes: flat memory means the same peak for 4x the cases;
(c) where pm4py is installed (``pip install -e '.[bench]'``), pm4py's
    token-based replay of the same log on a Petri net of the procedure's
    milestone order, which checks order only. Its log is built from the same
    JSONL (that time is reported apart from the replay's).

Prints a Markdown table for benchmarks/RESULTS.md. Never a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

os.environ.setdefault("TQDM_DISABLE", "1")  # pm4py's progress bar would flood the output

import generate  # noqa: E402


def floor(path: Path) -> tuple[float, int, int]:
    """Seconds to read, decode and date-parse the caseload; cases and events seen."""
    start = time.perf_counter()
    cases = events = 0
    with path.open("rb") as stream:
        for line in stream:
            data = json.loads(line)
            cases += 1
            for event in data["events"]:
                events += 1
                on = event.get("on")
                if on is not None:
                    date.fromisoformat(on)
    return time.perf_counter() - start, cases, events


def batch(path: Path, outdir: Path, jobs: int, as_of: str,
          *extra: str) -> tuple[float, float, float]:
    """Seconds, peak RSS (MiB, largest process) and CPU seconds (all its processes)
    of `whp-audit batch` run afresh."""
    cli = Path(sys.executable).with_name("whp-audit")
    command = [str(cli), "batch", str(path), "-o", str(outdir), "--jobs", str(jobs),
               "--as-of", as_of, *extra]
    # A child of its own, so its peak RSS is not mixed with this script's.
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); d = time.perf_counter() - t; "
        "c = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "u = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, c.ru_maxrss); "
        "print(d, u, r.returncode, c.ru_utime + c.ru_stime)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *command], check=True,
                         capture_output=True, text=True)
    seconds, rss, status, cpu = out.stdout.split()
    if status not in ("0", "3"):
        raise SystemExit(f"batch failed ({status}): {out.stderr}")
    return float(seconds), int(rss) / 1024, float(cpu)


def pm4py_replay(path: Path) -> tuple[float, float, str] | None:
    """(seconds to build pm4py's log, seconds of token-based replay, pm4py version)."""
    try:
        import pandas as pd
        import pm4py
        from pm4py.algo.conformance.tokenreplay import algorithm as token_replay
        from pm4py.objects.petri_net.obj import Marking, PetriNet
        from pm4py.objects.petri_net.utils import petri_utils
    except ImportError:
        return None
    sys.path.insert(0, str(HERE.parent))
    from auditor.checklist import load_procedure

    start = time.perf_counter()
    ids: list[str] = []
    names: list[str] = []
    stamps: list[Any] = []
    with path.open("rb") as stream:
        for line in stream:
            data = json.loads(line)
            for event in data["events"]:
                if event.get("on") is None or event.get("happened") is False:
                    continue
                ids.append(data["case"])
                names.append(event["type"])
                stamps.append(event["on"])
    frame = pd.DataFrame({"case:concept:name": ids, "concept:name": names,
                          "time:timestamp": pd.to_datetime(stamps)})
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    log = pm4py.convert_to_event_log(frame)
    built = time.perf_counter() - start

    # The procedure's milestones in order, as a sequence; a repeatable step loops on its place.
    net = PetriNet("procedure")
    places = [PetriNet.Place(f"p{n}") for n in range(len(load_procedure().milestones) + 1)]
    for place in places:
        net.places.add(place)
    for n, milestone in enumerate(load_procedure().milestones):
        step = PetriNet.Transition(milestone.event, milestone.event)
        skip = PetriNet.Transition(f"skip-{milestone.event}", None)
        again = PetriNet.Transition(f"again-{milestone.event}", milestone.event)
        for transition in (step, skip, again):
            net.transitions.add(transition)
        for transition in (step, skip):
            petri_utils.add_arc_from_to(places[n], transition, net)
            petri_utils.add_arc_from_to(transition, places[n + 1], net)
        petri_utils.add_arc_from_to(places[n + 1], again, net)
        petri_utils.add_arc_from_to(again, places[n + 1], net)
    initial, final = Marking({places[0]: 1}), Marking({places[-1]: 1})
    start = time.perf_counter()
    token_replay.apply(log, net, initial, final)
    return built, time.perf_counter() - start, pm4py.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=25_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2025-01-01")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/whp-bench"))
    parser.add_argument("--no-pm4py", action="store_true")
    parser.add_argument("--reports", type=int, default=0, metavar="N",
                        help="also time `batch --reports` against plain batch on N cases, "
                             "each run REPEAT times")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-reports", action="store_true",
                        help="run only the --reports timing")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.only_reports:
        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{platform.platform()}")
        reports(args)
        return
    sizes = sorted({args.small, args.cases})
    inputs = {}
    for size in sizes:
        path = args.workdir / f"caseload-{size}-seed{args.seed}.jsonl"
        if not path.exists():
            generate.write_jsonl(path, size, args.seed)
        inputs[size] = path
    big = inputs[args.cases]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    seconds_floor, cases, events = floor(big)
    print(f"input: {cases} cases, {events} events, {big.stat().st_size / 2**20:.0f} MiB")
    rows: list[tuple[str, float, float | None, float | None]] = [
        ("(a) floor: read + JSON-decode + parse dates", seconds_floor, None, None)
    ]
    for size in sizes:
        seconds, rss, cpu = batch(inputs[size], args.workdir / f"out-{size}", args.jobs,
                                  args.as_of)
        rows.append((f"(b) whp-audit batch, {size} cases, --jobs {args.jobs}", seconds, rss,
                     cpu))
        if size == args.cases:
            seconds_batch = seconds
    result = None if args.no_pm4py else pm4py_replay(big)
    if result is None:
        print("pm4py: not installed (pip install -e '.[bench]'), or --no-pm4py")
    else:
        built, replayed, version = result
        rows.append((f"(c) pm4py {version}: build its event log", built, None, None))
        rows.append((f"(c) pm4py {version}: token-based replay (order only)", replayed, None,
                     None))
    print()
    print("| what | wall s | x floor | CPU s (all processes) | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for what, seconds, rss, cpu in rows:
        memory = f"{rss:.0f}" if rss is not None else ""
        used = f"{cpu:.1f}" if cpu is not None else ""
        print(f"| {what} | {seconds:.2f} | {seconds / seconds_floor:.1f} | {used} | {memory} |")
    print(f"\nload average at the end: {os.getloadavg()}")
    per_second = args.cases / seconds_batch
    print(f"\nbatch: {per_second:,.0f} cases/s; {events / seconds_batch:,.0f} events/s")
    if args.reports:
        reports(args)


def reports(args: argparse.Namespace) -> None:
    """Per-case HTML reports: `batch --reports` against plain `batch`, same cases, same run.

    Reports a second = N / (wall with --reports - wall without); the CPU
    figure is the extra CPU-seconds (all processes) per report.
    """
    path = args.workdir / f"caseload-{args.reports}-seed{args.seed}.jsonl"
    if not path.exists():
        generate.write_jsonl(path, args.reports, args.seed)
    print(f"\n--reports, {args.reports} cases, --jobs {args.jobs}, {args.repeat} runs each "
          "(alternating):")
    print("| run | plain wall s | plain CPU s | --reports wall s | --reports CPU s "
          "| reports/s | extra CPU ms/report |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    # Every run writes into a folder of its own, and all are removed only at the end: on
    # ext4, creating files within a few minutes of deleting thousands is several times
    # slower (the allocator passes over recently freed inodes), which would charge the
    # last run's clean-up to this one's reports (benchmarks/RESULTS.md).
    runs = Path(tempfile.mkdtemp(prefix="reports-runs-", dir=args.workdir))
    try:
        for run in range(1, args.repeat + 1):
            plain, _, plain_cpu = batch(path, runs / f"plain-{run}", args.jobs, args.as_of)
            full, _, full_cpu = batch(path, runs / f"reports-{run}", args.jobs, args.as_of,
                                      "--reports")
            extra = full - plain
            rate = f"{args.reports / extra:,.0f}" if extra > 0 else "n/a"
            print(f"| {run} | {plain:.2f} | {plain_cpu:.2f} | {full:.2f} | {full_cpu:.2f} "
                  f"| {rate} | {(full_cpu - plain_cpu) / args.reports * 1000:.2f} |")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        shutil.rmtree(runs, ignore_errors=True)


if __name__ == "__main__":
    main()
