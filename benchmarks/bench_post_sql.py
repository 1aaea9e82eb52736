"""POST /v1/score's SQL: what its DuckDB statements cost per call now, and the least they
could cost if every statement were planned once per worker (issue 33).

    ./run demo --no-serve                          # once: sample data, champions, snapshot
    python benchmarks/bench_post_sql.py            # uses .dealer-risk/ (or --work DIR)

Posts `--rotate` dealers of two years around the median's size once each (as
`bench_api.py --post-only` does), recording every statement the posted path sends to
DuckDB (the order lines' and each event table's reduction to dealer x month cells, the
flags' window counts, the orders chart). Then it replays each call's statements on a
connection where the posted tables already exist as tables and every view is defined,
each query PREPAREd once and EXECUTEd again (median of `--repeat`): the floor of a design
that plans the queries once per worker and reuses prepared statements, not counting the
cost of moving the posted rows into those tables. If that floor is near today's cost, the
time is DuckDB's own per-statement execution, which planning once cannot remove.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import dealer_histories, rotating_dealers  # noqa: E402  (a sibling script)

QUERY_PREFIXES = ("SELECT", "WITH")


class Recorder:
    """Wraps features.duck.connect: each connection's statements in order, with their
    wall time (a query's fetch included), labelled by the function that opened it."""

    def __init__(self) -> None:
        self.connections: list[dict] = []

    def connect(self, original):
        def wrapped(memory_mb):
            log: list[dict] = []
            self.connections.append({"label": _caller(), "log": log})
            return _Connection(original(memory_mb), log)
        return wrapped


def _caller() -> str:
    """The features/serve function that opened the connection (with the event table's
    name for an event reduction)."""
    for frame in inspect.stack()[2:]:
        module = frame.frame.f_globals.get("__name__", "")
        if module.startswith(("features.", "serve.")) and module not in (
                "features.duck", "features.sql") and frame.function not in ("query", "connect"):
            rows = frame.frame.f_locals.get("rows")
            table = getattr(getattr(rows, "table", None), "name", None)
            return f"{frame.function}({table})" if table else frame.function
    return "?"


class _Connection:
    def __init__(self, con, log: list[dict]) -> None:
        self.con, self.log = con, log

    def register(self, name, table):
        start = time.perf_counter()
        self.con.register(name, table)
        self.log.append({"kind": "register", "name": name, "table": table,
                         "seconds": time.perf_counter() - start})
        return self

    def execute(self, sql, *args):
        entry = {"kind": "execute", "sql": sql, "fetch": None}
        start = time.perf_counter()
        self.con.execute(sql, *args)
        entry["seconds"] = time.perf_counter() - start
        self.log.append(entry)
        return _Result(self.con, entry)

    def sql(self, sql):
        entry = {"kind": "execute", "sql": sql, "fetch": "to_arrow_table", "seconds": 0.0}
        self.log.append(entry)
        return _Result(self.con.sql(sql), entry)

    def close(self):
        self.con.close()

    def __getattr__(self, name):
        return getattr(self.con, name)


class _Result:
    """A statement's result: its fetch is timed into the statement's entry."""

    def __init__(self, result, entry: dict) -> None:
        self.result, self.entry = result, entry

    def __getattr__(self, name):
        method = getattr(self.result, name)
        if not callable(method) or not name.startswith(("fetch", "df", "to_arrow", "arrow")):
            return method

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.entry["seconds"] += time.perf_counter() - start
                self.entry["fetch"] = name
        return timed


def floor(log: list[dict], database, repeat: int) -> float:
    """Seconds the connection's queries take when each is prepared once and executed
    again, with the registered tables turned into tables and the views defined first."""
    con = database.cursor()
    total = 0.0
    try:
        for k, entry in enumerate(log):
            if entry["kind"] == "register":
                con.register("posted__", entry["table"])
                con.execute(f"CREATE OR REPLACE TEMP TABLE {entry['name']} AS "
                            "SELECT * FROM posted__")
                con.unregister("posted__")
                continue
            sql = entry["sql"].strip()
            upper = sql.upper()
            select = None
            if upper.startswith(QUERY_PREFIXES):
                select = sql
            elif upper.startswith("CREATE TEMP TABLE"):
                select = sql.split(" AS ", 1)[1]
            if select is not None:
                con.execute(f"PREPARE q{k} AS {select}")
                fetch = entry["fetch"] or "fetchall"
                fetch = "fetchnumpy" if fetch in ("to_arrow_table", "arrow") else fetch
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    getattr(con.execute(f"EXECUTE q{k}"), fetch)()
                    times.append(time.perf_counter() - start)
                total += statistics.median(times)
            if not upper.startswith(QUERY_PREFIXES):
                con.execute(sql.replace("CREATE TEMP", "CREATE OR REPLACE TEMP", 1))
    finally:
        con.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(".dealer-risk"))
    parser.add_argument("--data", type=Path, help="default: <work>/sample-data")
    parser.add_argument("--rotate", type=int, default=15, help="dealers posted once each")
    parser.add_argument("--repeat", type=int, default=7, help="executions of each prepared "
                        "statement (their median counts)")
    args = parser.parse_args()
    work = args.work.resolve()

    import features.duck as duck
    import features.events as events
    import features.orderlines as orderlines
    import serve.service.score as service
    from serve.service.state import load_state
    from serve.settings import Settings

    as_of, _, around = rotating_dealers(work, args.rotate)
    bodies = dealer_histories((args.data or work / "sample-data").resolve(), around, as_of)
    settings = Settings(work_dir=work)
    state = load_state(settings)
    requests = [service.ScoreRequest.model_validate_json(bodies[d]) for d in around]
    service.score_posted(requests[0], state, settings)  # warm-up, not recorded

    recorder = Recorder()
    original = duck.connect
    for module in (duck, events, orderlines):
        module.connect = recorder.connect(original)
    calls = []
    try:
        for request in requests[1:]:
            recorder.connections = []
            start = time.perf_counter()
            service.score_posted(request, state, settings)
            calls.append({"seconds": time.perf_counter() - start,
                          "connections": recorder.connections})
    finally:
        for module in (duck, events, orderlines):
            module.connect = original
    database = duck._database(orderlines.DEFAULT_MEMORY_MB)  # the posted tables' memory

    now, least, count = defaultdict(list), defaultdict(list), defaultdict(list)
    totals = {"now": [], "floor": [], "call": [], "statements": []}
    for call in calls:
        per_now, per_floor, per_count = defaultdict(float), defaultdict(float), defaultdict(int)
        for c in call["connections"]:
            per_now[c["label"]] += sum(e["seconds"] for e in c["log"])
            per_floor[c["label"]] += floor(c["log"], database, args.repeat)
            per_count[c["label"]] += len(c["log"])
        for label in per_now:
            now[label].append(per_now[label])
            least[label].append(per_floor[label])
            count[label].append(per_count[label])
        totals["now"].append(sum(per_now.values()))
        totals["floor"].append(sum(per_floor.values()))
        totals["call"].append(call["seconds"])
        totals["statements"].append(sum(per_count.values()))

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f}"

    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {len(calls)} dealers "
          f"posted once each; medians per call")
    print("| DuckDB connection opened by | statements | now (ms) | prepared once (ms) |")
    print("|---|---:|---:|---:|")
    for label in now:
        print(f"| {label} | {statistics.median(count[label]):.0f} | {ms(now[label])} | "
              f"{ms(least[label])} |")
    print(f"| all | {statistics.median(totals['statements']):.0f} | {ms(totals['now'])} | "
          f"{ms(totals['floor'])} |")
    call, sql, least = (statistics.median(totals[k]) for k in ("call", "now", "floor"))
    print(f"the whole call: {call * 1000:.1f} ms; DuckDB now {sql / call:.0%} of it, "
          f"prepared once {least / call:.0%}")
    print(json.dumps({"call_ms": round(call * 1000, 1), "duckdb_ms": round(sql * 1000, 1),
                      "prepared_ms": round(least * 1000, 1)}))

if __name__ == "__main__":
    main()
