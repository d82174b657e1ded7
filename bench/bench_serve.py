"""`shashin serve` under load while an index run writes to the same library.

Renders sign photos, indexes a first set, then starts `shashin serve` and, at the same time,
`shashin index` on a second set (OCR, commits every few photos) and N client threads that search
for T seconds (English and Japanese words, phrases, dates, places, paging). Prints requests/s,
p50/p99 latency, the server's CPU per request (user + system of its process, every thread),
errors (goal: 0) and how far the index run got meanwhile; then, the index run finished, the same
load alone for half as long (what a request costs the server when nothing else runs); then the
framework's floor: the same load against uvicorn + FastAPI answering with one of shashin's pages
and searching nothing (bench/serve_floor.py).

    python bench/bench_serve.py --clients 16 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.bench_index import WORDS, render_photos  # noqa: E402
from tools.render import Sign, save  # noqa: E402

QUERIES = [w for pair in WORDS for w in pair] + ['"NO LITTER"', "sign 2024", "京都の看板", "exit in Tokyo", "OPEN"]


def shashin(*args: str, **kwargs: object) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen([sys.executable, "-m", "shashin", *args], **kwargs)  # type: ignore[call-overload]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(address: str, seconds: float = 60) -> None:
    """Until a server just started answers at `address`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(address, timeout=5)
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, f"nothing answered at {address}"
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--photos", type=int, default=40, help="photos indexed before the load (and as many during it)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shashin-bench-serve-"))
    db = work / "db"
    render_photos(work / "first", args.photos)
    for number in range(args.photos):  # other signs (other content), so the index run adds new photos
        english, japanese = WORDS[number % len(WORDS)]
        save(
            Sign([f"{english} {100 + number}", japanese], seed=5000 + number, size=(1024, 680)),
            work / "second" / f"b-{number:03d}.jpg",
        )
    subprocess.run(
        [sys.executable, "-m", "shashin", "index", str(work / "first"), "--db", str(db), "--quiet"], check=True
    )

    port = free_port()
    server = shashin("serve", "--db", str(db), "--port", str(port), stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/api/status")
    writer = shashin("index", str(work / "second"), "--db", str(db), "--batch-size", "4", "--quiet")

    ticks = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    def load(seconds: float) -> tuple[list[float], list[str], float, float]:
        """N clients searching for `seconds`: latencies, errors, elapsed, the server's CPU seconds."""
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(number: int) -> None:
            rng = random.Random(number)
            with httpx.Client(base_url=url, timeout=30) as http:
                while time.monotonic() < stop:
                    params = {"q": rng.choice(QUERIES), "limit": 20, "offset": rng.choice([0, 0, 20])}
                    started = time.perf_counter()
                    try:
                        response = http.get("/api/search", params=params)
                        ok = response.status_code == 200 and "results" in response.json()
                        problem = None if ok else f"{response.status_code}: {response.text[:100]}"
                    except httpx.HTTPError as exc:
                        problem = f"{type(exc).__name__}: {exc}"
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        if problem:
                            errors.append(problem)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started, cpu = time.perf_counter(), server_cpu()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies, errors, time.perf_counter() - started, server_cpu() - cpu

    latencies, errors, elapsed, cpu = load(args.seconds)
    writer_done = writer.poll() is not None
    writer.wait()
    alone, alone_errors, alone_elapsed, alone_cpu = load(args.seconds / 2)
    page = httpx.get(url + "/api/search", params={"q": "sign", "limit": 20}, timeout=30).text
    server.send_signal(signal.SIGINT)
    server.wait(timeout=30)
    (work / "page.json").write_text(page, encoding="utf-8")
    floor_port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.serve_floor:app", "--port", str(floor_port), "--log-level", "error"],
        cwd=REPO,
        env={**os.environ, "SHASHIN_FLOOR_PAGE": str(work / "page.json")},
    )
    url = f"http://127.0.0.1:{floor_port}"
    wait_for(url + "/api/search")
    bare, _, bare_elapsed, bare_cpu = load(args.seconds / 2)
    server.terminate()
    server.wait(timeout=30)
    from shashin import Library

    status = Library(db).status()
    photos, texted = status.photos, next(c.done for c in status.channels if c.name == "ocr")
    ms = np.array(latencies) * 1000
    print(
        f"{os.cpu_count()} cores · {args.clients} clients for {elapsed:.0f} s against shashin serve, "
        f"while `shashin index` added {args.photos} photos to the same library"
    )
    print(f"  requests: {len(latencies)} ({len(latencies) / elapsed:.1f}/s)   errors: {len(errors)}")
    print(f"  latency: p50 {np.percentile(ms, 50):.1f} ms   p99 {np.percentile(ms, 99):.1f} ms   max {ms.max():.1f} ms")
    print(f"  server CPU per request: {1000 * cpu / max(len(latencies), 1):.2f} ms")
    print(
        f"  index run {'finished during' if writer_done else 'outlasted'} the load; library now {photos} photos, {texted} with OCR done"
    )
    quiet = np.array(alone) * 1000
    print(
        f"  then alone for {alone_elapsed:.0f} s: {len(alone)} requests ({len(alone) / alone_elapsed:.1f}/s), "
        f"p50 {np.percentile(quiet, 50):.1f} ms, server CPU per request {1000 * alone_cpu / max(len(alone), 1):.2f} ms, "
        f"errors: {len(alone_errors)}"
    )
    print(
        f"  the framework's floor (uvicorn + FastAPI returning a page of {len(page) // 1024} KB, no search), "
        f"{bare_elapsed:.0f} s: {len(bare)} requests ({len(bare) / bare_elapsed:.1f}/s), "
        f"server CPU per request {1000 * bare_cpu / max(len(bare), 1):.2f} ms"
    )
    errors += alone_errors
    for problem in errors[:5]:
        print(f"  error: {problem}")


if __name__ == "__main__":
    main()
