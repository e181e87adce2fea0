"""What the benchmark scenarios share: the machine, PostgreSQL, gunicorn and the load generator.

Nothing here imports Django: scenarios that need it run it in a subprocess with their own
``DATABASE_URL``, so one scenario's settings never leak into another's.
"""

import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PY = sys.executable
# The server the benchmarks create databases on (trust auth on the loopback).
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Skip(Exception):
    """Raised by a scenario that cannot run here (e.g. no PostgreSQL); the runner records the reason."""


def log(*parts) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


# --- the machine ------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def pg_facts(url: str = PG_ADMIN_URL) -> dict:
    """Server version and the settings that decide durable-write speed (empty if unreachable)."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            facts = {"version": conn.execute("SHOW server_version").fetchone()[0]}
            for name in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay", "shared_buffers",
                         "max_connections"):
                facts[name] = conn.execute(f"SHOW {name}").fetchone()[0]
            return facts
    except Exception:  # noqa: BLE001 - reported as "unreachable"
        return {}


def machine_info() -> dict:
    pg = pg_facts()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": _version("Django"),
        "djangorestframework": _version("djangorestframework"),
        "gunicorn": _version("gunicorn"),
        "psycopg": _version("psycopg"),
        "postgresql": pg.get("version", "unreachable"),
        "postgresql_settings": {k: v for k, v in pg.items() if k != "version"},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


# --- PostgreSQL -------------------------------------------------------------------------------

def pg_url(dbname: str) -> str:
    base, _sep, _old = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def pg_reachable() -> str | None:
    """None if the server answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {str(exc).strip()[:200]}"
    return None


def pg_recreate(dbname: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def pg_drop(dbname: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pgbench_binary() -> str | None:
    from shutil import which

    found = which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


# --- processes --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM the process we started (gunicorn's master stops its workers), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def background(args: list[str], *, env: dict, log_path: Path, project_dir: Path = REPO, nice: int = 19):
    """Run ``python args`` (a project command) in the background at low priority; always stops it."""
    full_env = {**os.environ, **env, "PYTHONPATH": str(project_dir)}
    log_fh = open(log_path, "ab")
    proc = subprocess.Popen(["nice", "-n", str(nice), PY, *args], env=full_env, cwd=project_dir,
                            stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_process(proc)
        log_fh.close()


def listening_sockets(port: int) -> int:
    """How many sockets listen on this loopback TCP port (with ``reuse_port`` each worker has its own, opened
    after it started: the load must wait for all of them, or the first worker would get every connection)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A = LISTEN
                count += 1
    return count


@contextmanager
def gunicorn(*, env: dict, workers: int, threads: int, worker_class: str, log_path: Path,
             project_dir: Path = REPO, reuse_port: bool = True):
    """Serve the project's WSGI app on a free loopback port with the production settings
    (``manifattura/config/gunicorn.py``), sized by the arguments; yields (port, master pid); always stops it."""
    port = free_port()
    cmd = [PY, "-m", "gunicorn", "manifattura.config.wsgi:application"]
    if (project_dir / "manifattura" / "config" / "gunicorn.py").exists():
        cmd += ["--config", "python:manifattura.config.gunicorn"]
    else:  # an older copy of the project (A/B runs): its settings as they were then
        cmd += ["--keep-alive", "75", "--timeout", "120", "--backlog", "2048", *(["--reuse-port"] if reuse_port else [])]
    cmd += [
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", worker_class,
        "--chdir", str(project_dir), "--error-logfile", str(log_path), "--log-level", "warning",
    ]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    env = {**env, "GUNICORN_REUSE_PORT": "1" if reuse_port else "0"}
    full_env = {**os.environ, **env, "PYTHONPATH": str(project_dir)}
    log_fh = open(log_path, "ab")
    proc = subprocess.Popen(cmd, env=full_env, cwd=project_dir, stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        # Generous: on a busy 2-core machine importing the project in 4 workers takes a while.
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if http_get(f"http://127.0.0.1:{port}/healthz") == 200 and (
                        not reuse_port or listening_sockets(port) >= workers):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within 180 s; see {log_path}")
            time.sleep(0.25)
        yield port, proc.pid
    finally:
        stop_process(proc)
        log_fh.close()


def run_load(*, port: int, jobs: list[dict], clients: int, timeout: float, retries: int, deadline: float,
             workdir: Path, name: str, monitor: "CpuMonitor | None" = None, dbname: str | None = None) -> dict:
    """Run bench/httpload.py in its own process against the loopback port; returns its results
    (with ``cpu``: where the CPU went meanwhile, if a monitor is given)."""
    jobs_path = workdir / f"{name}-jobs.json"
    out_path = workdir / f"{name}-results.json"
    jobs_path.write_text(json.dumps({"requests": jobs}))
    cmd = [PY, str(BENCH_DIR / "httpload.py"), "--port", str(port), "--jobs", str(jobs_path), "--out",
           str(out_path), "--clients", str(clients), "--timeout", str(timeout), "--retries", str(retries),
           "--deadline", str(deadline)]
    sampler = PgActivitySampler(dbname) if dbname else None
    counters = pg_counters(dbname) if dbname else {}
    if monitor:
        monitor.start()
    if sampler:
        sampler.__enter__()
    try:
        subprocess.run(cmd, check=True, timeout=deadline + 120)
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
    cpu = monitor.stop() if monitor else {}
    result = json.loads(out_path.read_text())
    result["cpu"] = cpu
    result["pg_activity"] = sampler.summary() if sampler else {}
    if counters:
        after = pg_counters(dbname)
        result["pg_counters"] = {key: after[key] - counters[key] for key in counters if key in after}
    out_path.write_text(json.dumps(result))
    return result


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[rank]


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# --- where the CPU went during a phase ----------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[str, int, int]]:
    """{pid: (command name, parent pid, CPU ticks used so far)} for every process we can read.

    PostgreSQL processes are named by their title ("postgres: postgres manifattura_bench ..."),
    so backends of the benchmark's database can be told from other people's."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        if name.startswith("postgres"):
            try:
                title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                title = ""
            name = f"postgres|{title}"
        table[int(entry)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _busy_ticks() -> tuple[int, int]:
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, idle


class CpuMonitor:
    """CPU used during a phase by gunicorn (master + workers), PostgreSQL, the load generator and
    everything else on the machine (other people's work: it competes for the same cores).

    Linux only; on other systems every figure is None.
    """

    def __init__(self, server_pid: int | None, dbname: str):
        self.server_pid = server_pid
        self.dbname = dbname
        self.ok = Path("/proc/stat").exists()

    def start(self):
        if self.ok:
            self.t0, self.procs0, self.busy0 = time.perf_counter(), _proc_table(), _busy_ticks()
            self.children0 = os.times()
        return self

    def stop(self) -> dict:
        if not self.ok:
            return {}
        elapsed = time.perf_counter() - self.t0
        procs1, busy1 = _proc_table(), _busy_ticks()
        children1 = os.times()

        def used(pids):
            # A process started during the phase (e.g. a connection reopened after DB_CONN_MAX_AGE) used
            # all its ticks in it; one that ended during the phase is not seen (counted as "other").
            return sum(procs1[p][2] - self.procs0.get(p, (None, None, 0))[2] for p in pids) / _TICK

        server = {p for p, (_n, ppid, _t) in procs1.items() if p == self.server_pid or ppid == self.server_pid}
        # Backends of our database, and the server's own processes (WAL writer, checkpointer...).
        postgres = {p for p, (name, _pp, _t) in procs1.items() if name.startswith("postgres|")
                    and (f" {self.dbname} " in name or "(" not in name)}
        # The load generator has exited by now: its CPU is in our children's times.
        loadgen = (children1.children_user + children1.children_system
                   - self.children0.children_user - self.children0.children_system)
        total = (busy1[0] - self.busy0[0]) / _TICK
        idle = (busy1[1] - self.busy0[1]) / _TICK
        gunicorn_s, postgres_s = used(server), used(postgres)
        others = max(0.0, total - gunicorn_s - postgres_s - loadgen)
        return {
            "elapsed_s": round(elapsed, 2),
            "gunicorn_cpu_s": round(gunicorn_s, 2),
            "postgres_cpu_s": round(postgres_s, 2),
            "loadgen_cpu_s": round(loadgen, 2),
            "other_cpu_s": round(others, 2),
            "idle_cpu_s": round(idle, 2),
            "other_cores": round(others / elapsed, 2) if elapsed else None,
            "load_average": os.getloadavg()[0],
        }


def pg_counters(dbname: str) -> dict:
    """PostgreSQL's cumulative counters that explain its CPU: WAL written (full-page images after a
    checkpoint), buffers the backends had to write out themselves (shared_buffers full), checkpoints."""
    import psycopg

    try:
        with psycopg.connect(pg_url(dbname), autocommit=True) as conn:
            row = conn.execute(
                "SELECT w.wal_records, w.wal_fpi, w.wal_bytes::bigint, w.wal_buffers_full, b.buffers_backend, "
                "b.buffers_clean, b.buffers_checkpoint, b.checkpoints_timed + b.checkpoints_req, d.blks_read, "
                "d.blks_hit FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d WHERE d.datname = %s",
                (dbname,)).fetchone()
    except Exception:  # noqa: BLE001 - an older PostgreSQL without pg_stat_wal: no counters
        return {}
    names = ("wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "buffers_backend", "buffers_clean",
             "buffers_checkpoint", "checkpoints", "blks_read", "blks_hit")
    return dict(zip(names, (int(value or 0) for value in row)))


class PgActivitySampler:
    """Samples pg_stat_activity of one database every ``interval`` seconds in a thread: what the
    busy backends are doing (running, waiting for a row lock, for the WAL flush at commit...)."""

    def __init__(self, dbname: str, interval: float = 0.05):
        import threading

        self.dbname, self.interval = dbname, interval
        self.samples: dict[str, int] = {}
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                while not self._stop.wait(self.interval):
                    rows = conn.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                        (self.dbname,)).fetchall()
                    self.ticks += 1
                    for state, wtype, wevent in rows:
                        if state == "idle":
                            key = "idle (waiting for the app)"
                        elif state == "idle in transaction":
                            key = "idle in transaction (waiting for the app)"
                        elif wtype is None:
                            key = "running (CPU)"
                        else:
                            key = f"{wtype}:{wevent}"
                        self.samples[key] = self.samples.get(key, 0) + 1
        except Exception as exc:  # noqa: BLE001 - sampling is informative only
            self.samples[f"sampler error: {str(exc)[:80]}"] = 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict:
        """Average number of our backends in each state (backends = connections the app holds)."""
        if not self.ticks:
            return {}
        return {k: round(v / self.ticks, 2) for k, v in sorted(self.samples.items(), key=lambda kv: -kv[1])}
