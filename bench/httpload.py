"""A small HTTP/1.1 load generator on the standard library (asyncio), for loopback benchmarks.

    python bench/httpload.py --port 8123 --jobs jobs.json --out results.json --clients 256

``jobs.json`` is ``{"requests": [{"id": ..., "method": "POST", "path": "/...", "headers": {...},
"body": "..."}]}``. Request *i* belongs to client *i % clients*; every client keeps one keep-alive
connection (reopened when the server closes it) and sends its requests one after the other. All
clients connect first and then start together, at one instant (the click-day "opening").

A request that times out or loses its connection is sent again, with the same headers (so the
same ``Idempotency-Key``), on a new connection, at most ``--retries`` times with a short backoff.
The run stops at ``--deadline`` seconds whatever happens (requests not sent by then are reported
as ``not_sent``).

``results.json``: ``{"started_at", "elapsed_s", "requests": [{"id", "status", "attempts",
"latency_ms" (first send to final answer), "last_ms" (last attempt), "t_ms" (answer time since the
start), "body" (first 2,000 characters), "error"}], "transport_errors": {...}}``.
"""

import argparse
import asyncio
import json
import random
import sys
import time

READ_LIMIT = 1 << 20


class HTTPError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)

    @property
    def is_open(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()

    def close(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail; it is gone anyway
                pass
        self.reader = self.writer = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read one response; returns (status, body, keep_alive)."""
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HTTPError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _sep, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep_alive = headers.get("connection", "").lower() != "close" and parts[0] == "HTTP/1.1"
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await self.reader.read()
            keep_alive = False
        return status, body, keep_alive


def encode_request(job: dict, host: str, port: int) -> bytes:
    body = job.get("body") or ""
    body_bytes = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
    headers = {"Host": f"{host}:{port}", "User-Agent": "manifattura-bench", "Accept": "application/json",
               "Connection": "keep-alive", **(job.get("headers") or {})}
    if body_bytes or job.get("method", "GET") in ("POST", "PUT", "PATCH"):
        headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(body_bytes))
    head = f"{job.get('method', 'GET')} {job['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body_bytes


async def run_client(jobs, conn: Connection, start: asyncio.Event, t0_box, deadline: float, opts, results,
                     transport_errors):
    await start.wait()
    for job in jobs:
        raw = encode_request(job, opts.host, opts.port)
        record = {"id": job.get("id"), "status": None, "attempts": 0, "latency_ms": None, "last_ms": None,
                  "t_ms": None, "body": "", "error": None}
        results.append(record)
        if time.perf_counter() >= deadline:
            record["error"] = "not_sent"
            continue
        first = time.perf_counter()
        for attempt in range(opts.retries + 1):
            record["attempts"] = attempt + 1
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                record["error"] = "deadline"
                break
            sent = time.perf_counter()
            try:
                if not conn.is_open:
                    await asyncio.wait_for(conn.open(), min(opts.timeout, remaining))
                status, body, keep_alive = await asyncio.wait_for(conn.exchange(raw), min(opts.timeout, remaining))
            except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    HTTPError, ValueError) as exc:
                conn.close()
                if time.perf_counter() >= deadline:  # cut by the hard stop, not a failure of the server
                    record["error"] = "deadline"
                    break
                kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
                transport_errors[kind] = transport_errors.get(kind, 0) + 1
                record["error"] = kind
                conn.close()  # a late answer must not be read as the next one's
                await asyncio.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random()))
                continue
            now = time.perf_counter()
            record.update(status=status, latency_ms=(now - first) * 1000, last_ms=(now - sent) * 1000,
                          t_ms=(now - t0_box[0]) * 1000, body=body[:2000].decode("utf-8", "replace"), error=None)
            if not keep_alive:
                conn.close()
            break
    conn.close()


async def main_async(opts) -> dict:
    with open(opts.jobs, encoding="utf-8") as fh:
        jobs = json.load(fh)["requests"]
    per_client = [jobs[i::opts.clients] for i in range(opts.clients)]
    per_client = [j for j in per_client if j]
    conns = [Connection(opts.host, opts.port) for _ in per_client]
    # Connect everybody first (bounded), then open the gates at one instant.
    sem = asyncio.Semaphore(64)

    async def connect(conn):
        async with sem:
            try:
                await asyncio.wait_for(conn.open(), opts.timeout)
            except (OSError, asyncio.TimeoutError):
                conn.close()  # the client will connect when it starts

    await asyncio.gather(*(connect(c) for c in conns))
    start = asyncio.Event()
    results: list[dict] = []
    transport_errors: dict[str, int] = {}
    t0_box = [0.0]
    wall_start = time.time()
    t0_box[0] = time.perf_counter()
    deadline = t0_box[0] + opts.deadline
    tasks = [asyncio.create_task(run_client(j, c, start, t0_box, deadline, opts, results, transport_errors))
             for j, c in zip(per_client, conns)]
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0_box[0]
    return {"started_at": wall_start, "elapsed_s": elapsed, "clients": len(per_client), "requests": results,
            "transport_errors": transport_errors}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jobs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--deadline", type=float, default=600.0, help="hard stop, seconds")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    opts = parse_args(argv)
    if opts.host not in ("127.0.0.1", "localhost", "::1"):
        print("httpload only targets the loopback interface", file=sys.stderr)
        return 2
    result = asyncio.run(main_async(opts))
    with open(opts.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
