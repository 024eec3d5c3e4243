"""Stop each real server N times after 250 requests; count what was stored, what was spooled.

``python bench/servers_shutdown_loop.py [RUNS] [SERVER ...]`` (default 10 runs of every
server in ``tests/services/test_servers_shutdown.py``). Per server it prints, over
the runs: events in the database right after the stop (min-max), events in the end
(after a new tracker delivered the spool), and how many runs reached 250 of 250.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS / "services"), str(TESTS)]  # the test module, and tests/served.py

from test_servers_shutdown import REQUESTS, SERVERS, run_and_stop  # noqa: E402


def main() -> int:
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 10
    servers = args or list(SERVERS)
    print(f"{'server':<26} {'at stop':>9} {'in the end':>11} {'exit':>8}  all {REQUESTS}")
    failed = False
    for server in servers:
        at_stop, final, codes, good = [], [], set(), 0
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                code, rows, stopped = run_and_stop(Path(tmp), SERVERS[server])
            distinct = {n for _, n in rows}
            ok = len(rows) == len({e for e, _ in rows}) == len(distinct) == REQUESTS
            good += ok
            at_stop.append(stopped)
            final.append(len(distinct))
            codes.add(code)
        failed |= good != runs
        print(
            f"{server:<26} {min(at_stop):>4}-{max(at_stop):<4} {min(final):>5}-{max(final):<5}"
            f" {','.join(map(str, sorted(codes))):>8}  {good}/{runs}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
