"""Prints the topology's figures: per function, cold start (process start to first event answered),
init (process start to its first `next`), and warm invocation p50/p99, as measured by the local
Lambda runtime since the topology started. Usage: figures.py CONTROL_URL"""

import json
import sys
import urllib.request


def main():
    stats = json.load(urllib.request.urlopen(f"{sys.argv[1]}/stats"))
    rows = []
    for lid, f in sorted(stats["functions"].items()):
        if not f["invocations"]:
            continue
        cold = sorted(f["cold_starts_ms"])
        init = sorted(f["inits_ms"])
        rows.append((lid, f["invocations"], f["instances"],
                     f"{cold[len(cold) // 2]:.0f}" if cold else "-",
                     f"{init[len(init) // 2]:.0f}" if init else "-",
                     f"{f['warm_p50_ms']:.1f}" if f["warm_p50_ms"] is not None else "-",
                     f"{f['warm_p99_ms']:.1f}" if f["warm_p99_ms"] is not None else "-"))
    header = ("function", "invocations", "instances", "cold start ms (median)", "init ms (median)",
              "warm p50 ms", "warm p99 ms")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    for s in stats["sources"]:
        print(f"event source {s['kind']} -> {s['function']}: " +
              ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("kind", "function")))


if __name__ == "__main__":
    main()
