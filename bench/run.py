"""Run the benchmarks; write bench/results.json and bench/RESULTS.md.

    .venv/bin/python bench/run.py                      # every scenario (what `make bench` runs)
    .venv/bin/python bench/run.py clickday             # one scenario
    .venv/bin/python bench/run.py clickday --count 2000 --keep-db   # options go to the scenario
    .venv/bin/python bench/run.py --list

A scenario is a module ``bench/<name>.py`` that defines ``SCENARIO = "<name>"`` and
``run(argv: list[str]) -> dict`` (``run()`` without parameters works too) returning its metrics
``{"metric": value}``. Keys starting with ``_`` are details for the report only. It may define
``report(metrics) -> str`` (Markdown for RESULTS.md; otherwise a table of the metrics is written),
and raise ``common.Skip("why")`` when it cannot run here (e.g. PostgreSQL unreachable).

Results are merged: bench/results.json keeps the scenarios this run did not execute, and so does
RESULTS.md (each scenario's section lives between ``<!-- scenario:<name> -->`` markers and says
when, where and with which command it was measured).
"""

import importlib
import inspect
import json
import re
import shlex
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(BENCH_DIR.parent))  # so scenarios may also import the project and ``bench.common``

from common import Skip, log, machine_info  # noqa: E402

RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
NOT_SCENARIOS = {"run", "common", "httpload"}


def discover() -> dict[str, Path]:
    """Modules in bench/ that declare ``SCENARIO`` (found by reading, not importing, the file)."""
    found = {}
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.stem in NOT_SCENARIOS or path.stem.startswith("_"):
            continue
        match = re.search(r'^SCENARIO\s*=\s*["\']([\w-]+)["\']', path.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            found[match.group(1)] = path
    return found


def call_run(module, argv: list[str]) -> dict:
    params = inspect.signature(module.run).parameters
    result = module.run(argv) if params else module.run()
    if not isinstance(result, dict):
        raise TypeError(f"{module.__name__}.run() returned {type(result).__name__}, not a dict of metrics")
    return result


def default_report(metrics: dict) -> str:
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in metrics.items() if not key.startswith("_")]
    return "\n".join(lines) + "\n"


def machine_lines(machine: dict) -> list[str]:
    pg_settings = ", ".join(f"{k}={v}" for k, v in machine.get("postgresql_settings", {}).items())
    return [
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram_gib']} GiB; {machine['os']}",
        f"- PostgreSQL {machine['postgresql']}" + (f" ({pg_settings})" if pg_settings else ""),
        f"- Python {machine['python']}, Django {machine['django']}, DRF {machine['djangorestframework']}, "
        f"gunicorn {machine['gunicorn']}, psycopg {machine['psycopg']}",
    ]


def section(name: str, body: str, machine: dict, command: str, duration: float) -> str:
    head = [
        f"<!-- scenario:{name} -->",
        f"## {name}",
        "",
        f"Measured {machine['date']} with `{command}` ({duration:.0f} s), on:",
        "",
        *machine_lines(machine),
        "",
    ]
    return "\n".join(head) + "\n" + body.rstrip() + "\n\n" + f"<!-- /scenario:{name} -->"


def write_results(results: dict[str, dict], sections: dict[str, str], skipped: dict[str, str]) -> None:
    merged = {}
    if RESULTS_JSON.exists():
        try:
            merged = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        except ValueError:
            merged = {}
    for name, metrics in results.items():
        merged[name] = {k: v for k, v in metrics.items() if not k.startswith("_")}
    RESULTS_JSON.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    old = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else ""
    kept = dict(re.findall(r"<!-- scenario:([\w-]+) -->\n(.*?)<!-- /scenario:\1 -->", old, re.DOTALL))
    kept = {k: f"<!-- scenario:{k} -->\n{v}<!-- /scenario:{k} -->" for k, v in kept.items()}
    kept.update(sections)
    for name, text in skipped.items():  # a skip keeps the figures measured before, if any
        kept.setdefault(name, text)
    for name in merged:  # a scenario written to results.json by someone else, without a section
        kept.setdefault(name, f"<!-- scenario:{name} -->\n## {name}\n\n{default_report(merged[name])}\n"
                              f"<!-- /scenario:{name} -->")
    intro = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`.venv/bin/python bench/run.py`); one scenario: "
        "`.venv/bin/python bench/run.py <scenario>`. Machine-readable figures: `bench/results.json`. "
        "Each section says when, on which machine and with which command it was measured.",
        "",
    ]
    RESULTS_MD.write_text("\n".join(intro) + "\n" + "\n\n".join(kept[name] for name in sorted(kept)) + "\n",
                          encoding="utf-8")


def main(argv: list[str]) -> int:
    scenarios = discover()
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv[:1] == ["--list"]:
        print("\n".join(f"{name}\t{path.relative_to(BENCH_DIR.parent)}" for name, path in scenarios.items()))
        return 0
    if argv and not argv[0].startswith("-"):
        names, rest = [argv[0]], argv[1:]
        if names[0] not in scenarios:
            print(f"unknown scenario {names[0]!r}; known: {', '.join(scenarios)}", file=sys.stderr)
            return 2
    else:
        names, rest = list(scenarios), argv
        if rest:
            print("options need a scenario name: bench/run.py <scenario> [options]", file=sys.stderr)
            return 2
    command = " ".join([".venv/bin/python", "bench/run.py", *map(shlex.quote, argv)]) if argv else "make bench"
    results: dict[str, dict] = {}
    sections: dict[str, str] = {}
    skipped: dict[str, str] = {}
    failed = []
    for name in names:
        log(f"=== scenario {name}")
        started = time.perf_counter()
        module = importlib.import_module(scenarios[name].stem)
        try:
            metrics = call_run(module, rest)
        except Skip as exc:
            log(f"=== {name} skipped: {exc}")
            skipped[name] = f"<!-- scenario:{name} -->\n## {name}\n\nSkipped on {time.strftime('%Y-%m-%d %H:%M')}: " \
                             f"{exc}\n\n<!-- /scenario:{name} -->"
            continue
        except Exception:  # noqa: BLE001 - one scenario failing must not stop the others
            traceback.print_exc()
            log(f"=== {name} FAILED")
            failed.append(name)
            continue
        duration = time.perf_counter() - started
        results[name] = metrics
        body = module.report(metrics) if hasattr(module, "report") else default_report(metrics)
        sections[name] = section(name, body, machine_info(), command, duration)
        log(f"=== {name} done in {duration:.0f} s: "
            + json.dumps({k: v for k, v in metrics.items() if not k.startswith("_")}))
    write_results(results, sections, skipped)
    log(f"wrote {RESULTS_JSON.relative_to(BENCH_DIR.parent)} and {RESULTS_MD.relative_to(BENCH_DIR.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
