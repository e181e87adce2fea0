"""import-sites at scale: 10,000 point rows of an Italian CSV into a fresh SQLite database.

    .venv/bin/python bench/run.py import-sites                  # what `make bench` runs
    .venv/bin/python bench/run.py import-sites --rows 2000      # a quick look

Runs the real console script in subprocesses on a scratch SQLite database (``MANIFATTURA_VAR_DIR``
pointing at a temporary folder): migrate, import-zones (Milan), then times ``import-sites`` on a
generated ``;``-separated CSV with BOM and Italian numbers (points drawn in a box around Milan, so
about a third fall outside the city and are flagged), the same import again (every row unchanged),
and ``audit-verify`` over the chain the import wrote. The target is "well under a minute" for 10,000
rows; CPU seconds are reported too because wall time depends on what else the machine runs.
"""

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, log, scratch_dir  # noqa: E402

SCENARIO = "import-sites"
MANIFATTURA = str(Path(sys.executable).parent / "manifattura")
MAPPING = [
    "--map",
    "ref_code=codice",
    "--map",
    "name=denominazione",
    "--map",
    "address=indirizzo",
    "--map",
    "ownership=proprieta",
    "--map",
    "surface_m2=superficie",
    "--map",
    "recovery_cost=costo",
]


def write_csv(path: Path, rows: int, rng: random.Random) -> None:
    lines = ["codice;denominazione;indirizzo;proprieta;superficie;costo;lon;lat"]
    for i in range(rows):
        lon, lat = (
            9.07 + rng.random() * 0.21,
            45.39 + rng.random() * 0.14,
        )  # Milan's box and a margin
        surface = f"{rng.randint(200, 15000):,}".replace(",", ".") + f",{rng.randint(0, 99):02d}"
        cost = f"{rng.randint(150, 4000) * 1000:,}".replace(",", ".") + ",00"
        ownership = rng.choice(
            ["Comunale", "Comunale", "Comunale", "Privata", "Altro ente pubblico"]
        )
        lon_text, lat_text = f"{lon:.6f}".replace(".", ","), f"{lat:.6f}".replace(".", ",")
        lines.append(
            f"B-{i:05d};Edificio {i};Via Esempio {i};{ownership};{surface};{cost};{lon_text};{lat_text}"
        )
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def manifattura(env: dict, *args: str) -> tuple[float, float, str]:
    """Run the console script; returns (wall seconds, CPU seconds, stdout)."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [MANIFATTURA, *args, "--skip-checks"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(
            f"manifattura {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return elapsed, cpu, done.stdout


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="bench/run.py import-sites")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch folder (its path is logged)"
    )
    args = parser.parse_args(argv or [])
    folder = scratch_dir("manifattura-import-")
    env = {
        **os.environ,
        "MANIFATTURA_VAR_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "manifattura.config.settings",
    }
    env.pop("DATABASE_URL", None)
    try:
        csv_path = folder / "inventario.csv"
        write_csv(csv_path, args.rows, random.Random(2026))
        log(f"import-sites: {args.rows} rows in {folder}")
        manifattura(env, "migrate", "--noinput", "-v", "0")
        manifattura(env, "import-zones")
        first, first_cpu, out = manifattura(env, "import-sites", str(csv_path), *MAPPING)
        log(f"first import {first:.1f} s ({first_cpu:.1f} s CPU): {out.strip().splitlines()[-1]}")
        again, again_cpu, out_again = manifattura(env, "import-sites", str(csv_path), *MAPPING)
        log(
            f"re-import {again:.1f} s ({again_cpu:.1f} s CPU): {out_again.strip().splitlines()[-1]}"
        )
        verify, verify_cpu, out_verify = manifattura(env, "audit-verify")
        log(
            f"audit-verify {verify:.1f} s ({verify_cpu:.1f} s CPU): {out_verify.strip().splitlines()[0]}"
        )
        return {
            "rows": args.rows,
            "import_s": round(first, 1),
            "import_cpu_s": round(first_cpu, 1),
            "rows_per_s": round(args.rows / first),
            "reimport_unchanged_s": round(again, 1),
            "reimport_unchanged_cpu_s": round(again_cpu, 1),
            "audit_verify_s": round(verify, 1),
            "outside_city_rows": out.count("falls outside every zone"),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "under_a_minute": first < 60,
        }
    finally:
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
