"""The cost of the query language's worst case, through `shashin serve`, side by side with a plain
search: the most alternatives and exclusions a query may have (search.max_alternatives,
search.max_exclusions), a query past them (refused at once), and a plain search while six such
queries run at the same time (the concurrency a page of strangers could cause).

    python bench/bench_query_limits.py --db .demo/library      # the library `make demo` builds
    python bench/bench_query_limits.py --db DB --image-model DIR  # a library with image and caption vectors

Every alternative is a search of its own in each channel (a text to embed for the meaning channels),
which is what the limit bounds: compare with the code before the limit by running this script with
PYTHONPATH pointing at that code's src/.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

WORDS = ["baseball", "boat", "train", "sign", "station", "litter", "coffee", "street"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _timed(base: str, query: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = httpx.get(f"{base}/api/search", params={"q": query}, timeout=300)
    return time.perf_counter() - started, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="an indexed library")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--image-model", default="", help="the library's image model folder, if it has one")
    args = parser.parse_args()
    port = _free_port()
    shashin = Path(sys.executable).parent / "shashin"
    server = subprocess.Popen(
        [str(shashin), "serve", "--db", args.db, "--port", str(port)]
        + (["--image-model", args.image_model] if args.image_model else []),
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/api/status", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        worst = " OR ".join(f"{w} {w}s" for w in WORDS) + " " + " ".join(f"-{w}x" for w in WORDS)
        refused = " OR ".join(f"w{n}" for n in range(166))[:1000]
        for query in ("warm", "sign", worst):
            _timed(base, query)
        plain = [_timed(base, "sign")[0] for _ in range(args.rounds)]
        heavy = [_timed(base, worst)[0] for _ in range(args.rounds // 2 or 1)]
        seconds, status = _timed(base, refused)
        print(f"library {args.db}")
        print(f"plain search                    p50 {statistics.median(plain) * 1000:7.0f} ms")
        print(f"worst allowed (8 OR, 8 NOT)     p50 {statistics.median(heavy) * 1000:7.0f} ms  ({len(worst)} chars)")
        print(f"166 ORs in 1,000 characters     {status} in {seconds * 1000:.0f} ms")
        for label, query in (("six worst allowed", worst), ("six of 166 ORs", refused)):
            busy: list[float] = []

            def hammer(query: str = query, busy: list[float] = busy) -> None:
                for _ in range(3):
                    busy.append(_timed(base, query)[0])

            threads = [threading.Thread(target=hammer) for _ in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            during = [_timed(base, "sign")[0] for _ in range(5)]
            for thread in threads:
                thread.join()
            print(
                f"plain while {label:17s} p50 {statistics.median(during) * 1000:7.0f} ms, "
                f"max {max(during) * 1000:.0f} ms (theirs: p50 {statistics.median(busy) * 1000:.0f} ms)"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
