"""Segment bench: siyu's Arrow bulk evaluation vs the same rules by hand in pandas, polars
and DuckDB SQL, on one deterministic population, in one run.

    .venv/bin/python benches/python/bench_segments.py              # 1M users, ~20M events
    .venv/bin/python benches/python/bench_segments.py --users 100000

Every implementation must give the same member set for every segment (checked on all
users, not a sample) before any time is reported; a mismatch aborts the run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import gen_data  # noqa: E402
from semantics import SEGMENTS  # noqa: E402

import siyu  # noqa: E402


def load_or_generate(n_users: int, cache: Path | None) -> tuple[pa.Table, pa.Table, float]:
    t = time.perf_counter()
    if cache is not None:
        pf, ef = cache / f"profiles_{n_users}.arrow", cache / f"events_{n_users}.arrow"
        if pf.exists() and ef.exists():
            read = lambda f: ipc.open_file(pa.memory_map(str(f))).read_all()  # noqa: E731
            return read(pf), read(ef), time.perf_counter() - t
    profiles, events = gen_data.generate(n_users)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for table, f in ((profiles, pf), (events, ef)):
            with ipc.new_file(str(f), table.schema) as w:
                w.write_table(table)
    return profiles, events, time.perf_counter() - t


class Siyu:
    """siyu's public bulk API; the rule text is the demo's file, unchanged."""

    name = "siyu"

    def __init__(self, threads: int | None) -> None:
        rules = (ROOT / "core/examples/demo_segments.siyu").read_text()
        self.compiled = siyu.CompiledRuleSet(rules, sample_schema())
        self.threads = threads

    def to_native(self, profiles, events):
        return profiles, events

    def evaluate(self, profiles, events):
        kw = {} if self.threads is None else {"threads": self.threads}
        out = self.compiled.evaluate_table(profiles, events, now=gen_data.NOW,
                                           default_zone=gen_data.ZONE, **kw)
        return {c: out.column(c).to_numpy(zero_copy_only=False) for c in SEGMENTS}


def sample_schema() -> str:
    """The sample schema JSON, read from core/src/sample/schema.rs (one source of truth)."""
    src = (ROOT / "core/src/sample/schema.rs").read_text()
    start = src.index('r#"') + 3
    return src[start:src.index('"#', start)]


class Module:
    def __init__(self, name: str) -> None:
        self.name = name
        self.mod = __import__(f"hand_{name}")

    def to_native(self, profiles, events):
        return self.mod.to_native(profiles, events)

    def evaluate(self, p, e):
        return self.mod.evaluate(p, e)


def timed(impl, native, repeat: int) -> tuple[float, float, dict]:
    """Best wall time and best CPU time (all threads of this process) over `repeat` runs."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        c, t = time.process_time(), time.perf_counter()
        result = impl.evaluate(*native)
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best, best_cpu, result


def check_same(ref_name: str, ref: dict, name: str, got: dict) -> None:
    for s in SEGMENTS:
        a, b = np.asarray(ref[s], dtype=bool), np.asarray(got[s], dtype=bool)
        if a.shape != b.shape or not np.array_equal(a, b):
            diff = np.flatnonzero(a != b)[:10] if a.shape == b.shape else "shape"
            raise SystemExit(f"MISMATCH {name} vs {ref_name} on {s}: {ref_name}={int(a.sum())} "
                             f"{name}={int(b.sum())}, first differing rows {diff}")


def phases(profiles: pa.Table, events: pa.Table, threads: int | None) -> None:
    """Splits siyu's bulk time with the public API only: the same call with a one-clause
    trait rule (Arrow import, per-event conversion, grouping, event logs, a trivial
    evaluation), and the full rules without events (profile import + evaluation)."""
    kw = {} if threads is None else {"threads": threads}
    schema = sample_schema()
    trivial = siyu.CompiledRuleSet('segment t: city = "Shanghai"', schema)
    full = Siyu(threads).compiled
    runs = [("import+group, trivial rule", trivial, events),
            ("profiles only, full rules", full, None),
            ("full (import+group+evaluate)", full, events)]
    print("siyu phases:")
    for label, compiled, ev in runs:
        gc.collect()
        c, t = time.process_time(), time.perf_counter()
        compiled.evaluate_table(profiles, ev, now=gen_data.NOW, default_zone=gen_data.ZONE, **kw)
        print(f"  {label:30s} wall {time.perf_counter() - t:7.2f}s  cpu {time.process_time() - c:7.2f}s",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per engine (best kept)")
    ap.add_argument("--engines", default="siyu,pandas,polars,duckdb")
    ap.add_argument("--threads", type=int, default=None, help="siyu threads (default: all)")
    ap.add_argument("--phases", action="store_true",
                    help="also split siyu's time: Arrow import + grouping vs rule evaluation")
    ap.add_argument("--cache", default=str(HERE / ".data"),
                    help="directory for the generated Arrow files ('' to disable)")
    args = ap.parse_args()

    profiles, events, t_gen = load_or_generate(args.users, Path(args.cache) if args.cache else None)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}; data: {profiles.num_rows:,} users, "
          f"{events.num_rows:,} events ({events.nbytes / 1e6:.0f} MB Arrow), "
          f"ready in {t_gen:.1f}s")
    versions = {"siyu": siyu.__version__}
    impls = []
    for name in args.engines.split(","):
        if name == "siyu":
            impls.append(Siyu(args.threads))
        else:
            impls.append(Module(name))
            versions[name] = __import__(name).__version__
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))

    times: dict[str, tuple[float, float, float]] = {}
    ref_name, ref = None, None
    for impl in impls:
        gc.collect()
        t = time.perf_counter()
        native = impl.to_native(profiles, events)
        t_conv = time.perf_counter() - t
        t_eval, t_cpu, result = timed(impl, native, args.repeat)
        del native
        if ref is None:
            ref_name, ref = impl.name, result
        else:
            check_same(ref_name, ref, impl.name, result)
        times[impl.name] = (t_conv, t_eval, t_cpu)
        print(f"  {impl.name:7s} to native {t_conv:6.2f}s  evaluate: wall {t_eval:7.2f}s  "
              f"cpu {t_cpu:7.2f}s  (load {os.getloadavg()[0]:.1f})", flush=True)
        del result
        if impl.name == "siyu":
            print(f"  siyu peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB")
    print("members per segment (identical in every engine):")
    for s in SEGMENTS:
        print(f"  {s:26s} {int(np.asarray(ref[s], dtype=bool).sum()):>9,}")
    if args.phases and "siyu" in times:
        phases(profiles, events, args.threads)
    if "siyu" in times:
        _, base, base_cpu = times["siyu"]
        for k, (_, t, c) in times.items():
            if k != "siyu":
                print(f"{k} / siyu: wall {t / base:.2f}x, cpu {c / base_cpu:.2f}x "
                      f"(> 1 means siyu is faster)")


if __name__ == "__main__":
    main()
