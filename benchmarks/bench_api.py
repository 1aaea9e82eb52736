"""The risk API under load: on-demand scoring (POST /v1/score) against the lookup.

    ./run demo --no-serve                      # once: sample data, champions, a snapshot
    python benchmarks/bench_api.py             # uses .dealer-risk/ (or --work DIR)
    python benchmarks/bench_api.py --connections 32 --duration 20 --workers 2
    python benchmarks/bench_api.py --batch-only    # only the batch scoring figure
    python benchmarks/bench_api.py --post-only     # only POST /v1/score's work in process
    python benchmarks/bench_api.py --peer      # also `mlflow models serve` (older target)
    python benchmarks/bench_api.py --lookup --rounds 3   # the lookup against a bare app

First, in this process, POST /v1/score's own work (score_posted: the contract checks of
the posted tables, the dealer's panel, peers, models, factors) on the median dealer's two
years of history (order lines, tickets, complaints, deliveries, visits), median of 7
calls after a warm-up. Then the service on loopback with uvicorn workers, loaded with wrk
(Debian's `wrk` package) at the same connections, one after the other:
- the single-dealer lookup with factors, GET /v1/dealers/{id}/risk (ids rotate);
- POST /v1/score with that dealer's posted history, then with 64 dealers' histories
  around the median's size in turn (--post-dealers; issue 33's rotating dealers);
- with --peer: `mlflow models serve` on models:/dealer-risk-churn@champion, one dealer's
  feature row per request (probability only).
With --lookup only the lookup, in alternating wrk runs against a bare FastAPI + orjson app
on as many workers returning the same documents precomputed (benchmarks/bare_lookup.py):
the ratio of their throughputs says how near the framework's limit the lookup stays.
Also, in this process: batch scoring with contributions and factors (serve.batch.scoring) of
the snapshot's active dealers, in dealers per second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up within {seconds:.0f} s")


def start(cmd: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                          "--timeout", "30s", "-s", str(script), url], capture_output=True,
                         text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "timeouts": int(timeouts.group(1)) if timeouts else 0}


def lua_get(ids: list[str], folder: Path) -> Path:
    path = folder / "lookup.lua"
    path.write_text("ids = {" + ",".join(json.dumps(i) for i in ids) + "}\ni = 0\n"
                    "request = function()\n  i = i % #ids + 1\n"
                    "  return wrk.format('GET', '/v1/dealers/' .. ids[i] .. '/risk')\nend\n")
    return path


def lua_post(body: str, path_: str, folder: Path, name: str) -> Path:
    body_file = folder / f"{name}.json"
    body_file.write_text(body, encoding="utf-8")
    path = folder / f"{name}.lua"
    path.write_text(f"wrk.method = 'POST'\nwrk.path = '{path_}'\n"
                    "wrk.headers['Content-Type'] = 'application/json'\n"
                    f"local f = io.open('{body_file}', 'rb')\nwrk.body = f:read('*a')\n"
                    "f:close()\n")
    return path


def lua_posts(bodies: list[str], path_: str, folder: Path) -> Path:
    """POST each body in turn (wrk's two threads start half the list apart), so a dealer
    comes back only after all the others: nothing about it is warm."""
    names = []
    for i, body in enumerate(bodies):
        names.append(folder / f"post-{i}.json")
        names[-1].write_text(body, encoding="utf-8")
    path = folder / "posts.lua"
    path.write_text(
        "files = {" + ",".join(f"'{n}'" for n in names) + "}\nbodies = {}\n"
        "for _, name in ipairs(files) do\n  local f = io.open(name, 'rb')\n"
        "  bodies[#bodies + 1] = f:read('*a')\n  f:close()\nend\n"
        "local threads = 0\nfunction setup(thread)\n"
        "  thread:set('offset', threads * math.floor(#files / 2))\n"
        "  threads = threads + 1\nend\n"
        "function init(args)\n  i = offset\nend\n"
        "function request()\n  i = i % #bodies + 1\n"
        f"  return wrk.format('POST', '{path_}', "
        "{['Content-Type'] = 'application/json'}, bodies[i])\nend\n")
    return path


def dealer_history(data: Path, dealer: str, as_of: str, months: int = 24) -> str:
    """The dealer's rows of every table dated in the `months` before as_of, as a body."""
    return dealer_histories(data, [dealer], as_of, months)[dealer]


def dealer_histories(data: Path, dealers: list[str], as_of: str,
                     months: int = 24) -> dict[str, str]:
    """Each dealer's rows of every table dated in the `months` before as_of, as a body
    (the data read once for all of them)."""
    from features.contract import TABLES
    from features.settings import ContractSettings
    from features.validation import load_data

    loaded = load_data(data, ContractSettings(stream_order_lines=10**12,  # every column
                                              stream_event_rows=10**12))
    start = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    recent = {}
    for name, table in loaded.tables.items():
        if name != "dealers":
            when = table[TABLES[name].event_date]
            table = table[(when >= start) & (when < pd.Timestamp(as_of))]
        table = table.copy()
        for col in table.columns:
            if pd.api.types.is_datetime64_any_dtype(table[col]):
                table[col] = table[col].dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(
                    " 00:00:00")
        recent[name] = table.astype(object).where(table.notna(), None)
    wanted = set(dealers)
    grouped = {name: {str(k): g for k, g in table.groupby(table["dealer_id"].astype(str))
                      if k in wanted} for name, table in recent.items()}
    bodies = {}
    for dealer in dealers:
        body: dict = {"as_of": as_of}
        for name, groups in grouped.items():
            if dealer not in groups:
                continue
            records = json.loads(groups[dealer].to_json(orient="records", force_ascii=False))
            if name == "dealers":
                body["dealer"] = records[0]
            elif records:
                body[name] = records
        bodies[dealer] = json.dumps(body, ensure_ascii=False)
    return bodies


def batch_rate(work: Path, data: Path) -> tuple[int, float, float]:
    """score_batch on the data folder, in this process: (dealers, seconds for the
    features, seconds for the models (all of `score`'s champions), contributions and
    factors in both languages)."""
    from features.settings import ContractSettings
    from features.validation import load_data
    from serve.batch.champions import load_champions
    from serve.batch.scoring import panel_for_scoring, score_rows, scoring_cutoff
    from serve.settings import Settings

    settings = Settings(work_dir=work)
    champions = load_champions(settings)  # every champion `score` uses, leave and survival too
    print("champions: " + ", ".join(f"{m} {s['state']}" for m, s in
                                    champions.status().items()))
    loaded = load_data(data, ContractSettings())
    cutoff = scoring_cutoff(loaded.tables, None)
    t0 = time.perf_counter()
    population, past = panel_for_scoring(loaded.tables, cutoff, settings)
    rows = population[population["active"]].reset_index(drop=True)
    t1 = time.perf_counter()
    snap = score_rows(rows, peers=rows, past=past, tables=loaded.tables, cutoff=cutoff,
                      champions=champions, settings=settings, previous=None)
    return len(snap), t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(".dealer-risk"))
    parser.add_argument("--data", type=Path, help="default: <work>/sample-data")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-only", action="store_true", help="only the batch figure")
    parser.add_argument("--peer", action="store_true", help="also mlflow models serve")
    parser.add_argument("--lookup", action="store_true", help="only the lookup, alternated "
                        "with a bare FastAPI + orjson app (issue 33)")
    parser.add_argument("--rounds", type=int, default=3, help="with --lookup: runs of each")
    parser.add_argument("--post-only", action="store_true",
                        help="only POST /v1/score's work in this process (no wrk)")
    parser.add_argument("--post-dealers", type=int, default=64, help="dealers the loaded "
                        "POST /v1/score run posts in turn")
    parser.add_argument("--rotate", type=int, default=15, help="with --post-only: dealers "
                        "posted once each")
    parser.add_argument("--profile", action="store_true", help="with --post-only: where "
                        "the rotating calls' time goes (cProfile)")
    args = parser.parse_args()
    if args.batch_only:
        work = args.work.resolve()
        report_batch(work, (args.data or work / "sample-data").resolve())
        return
    if args.post_only:
        report_post(args.work.resolve(), args.data, args.rotate, args.profile)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    work = args.work.resolve()
    data = (args.data or work / "sample-data").resolve()
    snaps = sorted((work / "snapshots").glob("????-??-??.parquet"))
    if not snaps:
        raise SystemExit(f"no snapshot in {work}/snapshots: run ./run demo --no-serve first")
    snapshot = pd.read_parquet(snaps[-1])
    as_of = snaps[-1].stem
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {len(snapshot):,} dealers "
          f"in the snapshot of {as_of}; wrk -t2 -c{args.connections} -d{args.duration}s; "
          f"{args.workers} workers each")
    env = {**os.environ, "DEALER_RISK_WORK_DIR": str(work),
           "DEALER_RISK_API__RELOAD_CHECK_SECONDS": "0",
           "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    if args.lookup:
        report_lookup(snapshot, env, args)
        return
    _, median, around = rotating_dealers(work, args.post_dealers)
    around = around[:args.post_dealers]
    body = dealer_history(data, median, as_of)
    rotating = dealer_histories(data, around, as_of)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in json.loads(body).items()
                      if isinstance(v, list))
    print(f"in process, POST /v1/score's work on {median}'s history ({sizes}): "
          f"median {in_process_post(work, [body] * 8) * 1000:.0f} ms of 7 calls")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        ours = start([sys.executable, "-m", "serve.cli", "serve", "--port", str(port),
                      "--workers", str(args.workers)], env)
        try:
            wait(f"http://127.0.0.1:{port}/ready")
            base = f"http://127.0.0.1:{port}"
            rows["lookup: GET /v1/dealers/{id}/risk"] = wrk(
                base, lua_get(list(snapshot["dealer_id"]), folder), args.connections,
                args.duration)
            rows["POST /v1/score (median dealer's 2 years)"] = wrk(
                base, lua_post(body, "/v1/score", folder, "score"), args.connections,
                args.duration)
            rows[f"POST /v1/score ({len(around)} dealers around the median, in turn)"] = wrk(
                base, lua_posts([rotating[d] for d in around], "/v1/score", folder),
                args.connections, args.duration)
        finally:
            stop(ours)
        if args.peer:
            rows.update(peer_rows(work, as_of, median, env, folder, args))
    print("| endpoint | requests/s | p50 | p99 | non-2xx | timeouts (30 s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['rps']:,.1f} | {r['p50']} | {r['p99']} | {r['non_2xx']} | "
              f"{r['timeouts']} |")
    lookup = rows["lookup: GET /v1/dealers/{id}/risk"]["rps"]
    for name, r in rows.items():
        if not name.startswith("lookup"):
            print(f"{name}: {r['rps'] / lookup:.4f}x the lookup's throughput")
    report_batch(work, data)


def report_lookup(snapshot: pd.DataFrame, env: dict, args) -> None:
    """GET /v1/dealers/{id}/risk against the bare app, alternating, same wrk script."""
    ids = list(snapshot["dealer_id"])
    rows: dict[str, list[dict]] = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = lua_get(ids, folder)
        ours_port, bare_port = free_port(), free_port()
        ours = start([sys.executable, "-m", "serve.cli", "serve", "--port", str(ours_port),
                      "--workers", str(args.workers)], env)
        try:
            base = f"http://127.0.0.1:{ours_port}"
            wait(f"{base}/ready")
            docs = {i: httpx.get(f"{base}/v1/dealers/{i}/risk", timeout=30).json()
                    for i in ids}
            (folder / "docs.json").write_text(json.dumps(docs, ensure_ascii=False),
                                              encoding="utf-8")
            bare = start([sys.executable, "-m", "uvicorn", "benchmarks.bare_lookup:app",
                          "--port", str(bare_port), "--workers", str(args.workers),
                          "--log-level", "warning"],
                         {**env, "BARE_DOCUMENTS": str(folder / "docs.json"),
                          "PYTHONPATH": str(Path(__file__).parents[1])})
            try:
                wait(f"http://127.0.0.1:{bare_port}/v1/dealers/{ids[0]}/risk")
                for _ in range(args.rounds):
                    rows["ours"].append(wrk(base, script, args.connections, args.duration))
                    rows["bare"].append(wrk(f"http://127.0.0.1:{bare_port}", script,
                                            args.connections, args.duration))
            finally:
                stop(bare)
        finally:
            stop(ours)
    print("| run | lookup req/s | p99 | bare req/s | p99 | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for k, (o, b) in enumerate(zip(rows["ours"], rows["bare"], strict=True), start=1):
        ratios.append(o["rps"] / b["rps"])
        print(f"| {k} | {o['rps']:,.0f} | {o['p99']} | {b['rps']:,.0f} | {b['p99']} | "
              f"{ratios[-1]:.2f} |")
    print(f"median ratio {sorted(ratios)[len(ratios) // 2]:.2f} (target >= 0.6); "
          f"non-2xx: ours {sum(r['non_2xx'] for r in rows['ours'])}, "
          f"bare {sum(r['non_2xx'] for r in rows['bare'])}")


def rotating_dealers(work: Path, rotate: int) -> tuple[str, str, list[str]]:
    """(the newest snapshot's date, its median dealer by last-12-month orders, `rotate` + 1
    dealers around the median's size, every other one): the dealers the in-process POST
    figures post."""
    snaps = sorted((work / "snapshots").glob("????-??-??.parquet"))
    if not snaps:
        raise SystemExit(f"no snapshot in {work}/snapshots: run ./run demo --no-serve first")
    snapshot, as_of = pd.read_parquet(snaps[-1]), snaps[-1].stem
    ordered = snapshot.sort_values("orders_amount_12m")["dealer_id"].tolist()
    middle = len(ordered) // 2
    around = ordered[max(0, middle - rotate):middle + rotate + 1:2][:rotate + 1]
    return as_of, ordered[middle], around


def report_post(work: Path, data: Path | None, rotate: int = 15, profile: bool = False
                ) -> None:
    """The in-process POST figures alone (for A/B runs of two trees via PYTHONPATH): the
    median dealer posted again and again, and `rotate` dealers of two years' history
    around the median's size, each posted once (nothing about the posted dealer is warm)."""
    as_of, median, around = rotating_dealers(work, rotate)
    bodies = dealer_histories((data or work / "sample-data").resolve(),
                              list(dict.fromkeys([median, *around])), as_of)
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    same = in_process_post(work, [bodies[median]] * 10)
    lines = [len(json.loads(bodies[d]).get("orders", [])) for d in around]
    stages: dict[str, list[float]] = {}
    rotating = in_process_post(work, [bodies[median]] + [bodies[d] for d in around
                                                          if d != median], profile=profile,
                               stages=stages)
    print(f"in process, POST /v1/score's work on {median}'s history "
          f"({len(json.loads(bodies[median])['orders'])} order lines): median "
          f"{same * 1000:.0f} ms of 9 calls")
    print(f"in process, rotating: {len(around) - (median in around)} other dealers posted "
          f"once each ({min(lines)}-{max(lines)} order lines, median "
          f"{sorted(lines)[len(lines) // 2]}): median {rotating * 1000:.0f} ms")
    print("where the rotating calls' time goes (median ms per call):")
    for name, seconds in stages.items():
        print(f"  {name:20s} {sorted(seconds)[len(seconds) // 2] * 1000:7.1f}")


STAGES = ("_load", "panel_for_scoring", "with_peers_from", "_past_among_peers",
          "model_outputs", "score_rows")
"""The steps of serve.service.score.score_posted timed one by one: the contract's checks,
the panel, the features across dealers now and `past_months` before, the models, and
the scoring (reasons, flags, alerts)."""


def in_process_post(work: Path, bodies: list[str], profile: bool = False,
                    stages: dict[str, list[float]] | None = None) -> float:
    """Median seconds of score_posted (what POST /v1/score runs) on bodies[1:], after
    bodies[0] as a warm-up call. With `profile`, print where the time went (cProfile,
    cumulative, the calls after the warm-up); with `stages`, each step's seconds per call
    are appended there."""
    import cProfile
    import pstats

    import serve.service.score as service
    from serve.service.state import load_state
    from serve.settings import Settings

    settings = Settings(work_dir=work)
    state = load_state(settings)
    requests = [service.ScoreRequest.model_validate_json(b) for b in bodies]
    service.score_posted(requests[0], state, settings)
    originals = {name: getattr(service, name) for name in STAGES} if stages is not None else {}

    def timed(name, function):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                stages.setdefault(name, []).append(time.perf_counter() - start)
        return run

    for name, function in originals.items():
        setattr(service, name, timed(name, function))
    profiler = cProfile.Profile() if profile else None
    times = []
    try:
        for request in requests[1:]:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            service.score_posted(request, state, settings)
            if profiler:
                profiler.disable()
            times.append(time.perf_counter() - start)
    finally:
        for name, function in originals.items():
            setattr(service, name, function)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    if stages is not None:
        stages["total"] = times
    return sorted(times)[len(times) // 2]


def peer_rows(work: Path, as_of: str, median: str, env: dict, folder: Path, args) -> dict:
    """`mlflow models serve` on the churn champion, one feature row per request."""
    rows = {}
    population = pd.read_parquet(work / "snapshots" / f"{as_of}.population.parquet")
    from models.tracking import configure, load_registered
    from serve.settings import Settings
    configure(Settings(work_dir=work).models.tracking, work)
    bundle, _ = load_registered("dealer-risk-churn")
    x = bundle.spec.matrix(population[population["dealer_id"] == median])
    for name in bundle.spec.categories:
        x[name] = x[name].astype(str)
    peer_body = json.dumps({"dataframe_split": json.loads(x.to_json(orient="split",
                                                                  index=False))})
    port = free_port()
    peer = start(["mlflow", "models", "serve", "-m", "models:/dealer-risk-churn@champion",
                  "-p", str(port), "--env-manager", "local", "--workers",
                  str(args.workers)], {**env, "PATH": f"{Path(sys.executable).parent}:"
                                                     f"{os.environ['PATH']}"})
    try:
        wait(f"http://127.0.0.1:{port}/ping")
        rows["peer: mlflow models serve /invocations (1 row)"] = wrk(
            f"http://127.0.0.1:{port}", lua_post(peer_body, "/invocations", folder, "peer"),
            args.connections, args.duration)
    finally:
        stop(peer)
    return rows


def report_batch(work: Path, data: Path) -> None:
    n, features, scoring = batch_rate(work, data)
    print(f"batch scoring with factors: {n:,} dealers; features {features:.2f} s, models + "
          f"contributions + factors {scoring:.2f} s: {n / (features + scoring):,.0f} "
          f"dealers/s in all, {n / scoring:,.0f} dealers/s for the scoring stage")


if __name__ == "__main__":
    main()
