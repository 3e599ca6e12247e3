"""Which ASGI server: granian (embedded) vs uvicorn, same bare Litestar route, same process layout.

Starts `python bench/servers.py --serve NAME PORT` children and loads each with wrk (Debian's
`wrk`, falling back to an httpx client when it is missing). Prints requests/s and the ratio.
Usage: python bench/servers.py [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worker.seaweed import free_port  # noqa: E402


def bare_app():
    """One JSON route: the baseline every request pays before our code runs."""
    from litestar import Litestar, get

    @get("/bare", sync_to_thread=False)
    def bare() -> dict[str, bool]:
        return {"ok": True}

    return Litestar([bare], logging_config=None)


def serve(name: str, port: int) -> None:
    """Child process: serve the bare app with the named server through worker.serving."""
    from worker.serving import serve as run

    asyncio.run(run(bare_app(), "127.0.0.1", port, server=name))


def load(url: str, seconds: int, connections: int) -> float:
    """Requests per second against url."""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url], capture_output=True,
                             text=True, check=True).stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return asyncio.run(_httpx_load(url, seconds, connections))


async def _httpx_load(url: str, seconds: int, connections: int) -> float:
    done = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:
        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await client.get(url)
                done += 1
        await asyncio.gather(*(worker() for _ in range(connections)))
    return done / seconds


def measure(name: str, seconds: int, connections: int) -> float:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", name, str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/bare", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        load(f"http://127.0.0.1:{port}/bare", 1, connections)  # warm-up
        return load(f"http://127.0.0.1:{port}/bare", seconds, connections)
    finally:
        child.terminate()
        child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=2, metavar=("NAME", "PORT"))
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    results = {name: measure(name, args.seconds, args.connections) for name in ("uvicorn", "granian")}
    print(f"{'server':<10} {'req/s':>10} {'vs uvicorn':>11}")
    for name, rps in results.items():
        print(f"{name:<10} {rps:>10.0f} {rps / results['uvicorn']:>10.2f}x")


if __name__ == "__main__":
    main()
