"""Per-profile calls from Python: siyu vs growthbook's evalCondition vs datalogic-py
(compiled JsonLogic) on one simple rule: `age >= 18 and city in [...]`.

    .venv/bin/python benches/python/bench_per_call.py [--calls 200000]

`compiled.matcher(rule, now)` is siyu's per-call API for this case (a native callable
bound to one rule and `now`, reading the dict in place); `evaluate(dict, None, now)`
returns every rule's membership as a dict.

Each engine is given the same Python dicts (the caller's natural form) and must give the
same answers on all of them (some lack `age` or `city`) before any time is reported.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

import siyu
import datalogic_py
import growthbook
from growthbook.core import evalCondition

CITIES = ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu"]
TARGET = ["Shanghai", "Beijing", "Shenzhen"]
NOW = "2026-03-18T04:00:00Z"


def make_profiles(n: int, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        traits: dict = {}
        if rng.random() > 0.05:
            traits["age"] = int(rng.integers(12, 70))
        if rng.random() > 0.05:
            traits["city"] = CITIES[int(rng.integers(0, len(CITIES)))]
        out.append(traits)
    return out


def engines():
    schema = {"traits": {"age": "integer", "city": "string"}, "events": {}}
    rules = f"segment adult_in_city: age >= 18 and city in {TARGET!r}".replace("'", '"')
    compiled = siyu.CompiledRuleSet(rules, schema)
    cond = {"age": {"$gte": 18}, "city": {"$in": TARGET}}
    engine = datalogic_py.Engine()
    rule = engine.compile({"and": [{">=": [{"var": "age"}, 18]},
                                   {"in": [{"var": "city"}, TARGET]}]})
    session = engine.session()
    yield "siyu CompiledRuleSet.evaluate(dict)", lambda t: compiled.evaluate(
        {"id": "u", "traits": t}, None, NOW)["adult_in_city"]
    yield "siyu, pre-built siyu.Profile", lambda p: compiled.evaluate(p, None, NOW)["adult_in_city"]
    matcher = compiled.matcher("adult_in_city", NOW)
    yield "siyu compiled.matcher(rule, now)(dict)", matcher
    yield "growthbook evalCondition(dict)", lambda t: evalCondition(t, cond)
    # The native callables themselves (both return bool): no Python wrapper is timed.
    yield "datalogic-py Rule.evaluate(dict)", rule.evaluate
    if session is not None:
        yield "datalogic-py Session.evaluate(dict)", functools.partial(session.evaluate, rule)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200_000)
    args = ap.parse_args()
    profiles = make_profiles(10_000)
    expected = [("age" in t and t["age"] >= 18 and t.get("city") in TARGET) for t in profiles]
    print(f"load {os.getloadavg()[0]:.1f}; siyu {siyu.__version__}, growthbook "
          f"{growthbook.__version__ if hasattr(growthbook, '__version__') else '4.0.0'}, "
          f"datalogic-py {datalogic_py.__version__}")
    results = {}
    natives = [siyu.Profile.from_json({"id": "u", "traits": t}, siyu.Schema.from_json(
        {"traits": {"age": "integer", "city": "string"}, "events": {}})) for t in profiles]
    for name, fn in engines():
        data = natives if "pre-built" in name else profiles
        got = [bool(fn(t)) for t in data]
        if got != expected:
            bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
            raise SystemExit(f"MISMATCH {name} on {profiles[bad]}: {got[bad]} != {expected[bad]}")
        n = len(profiles)
        best, best_cpu = float("inf"), float("inf")
        for _ in range(3):
            c0, t0 = time.process_time(), time.perf_counter()
            for i in range(args.calls):
                fn(data[i % n])
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        results[name] = best_cpu / args.calls * 1e9
        print(f"  {name:40s} cpu {results[name]:8.0f} ns/call   wall {best / args.calls * 1e9:8.0f}",
              flush=True)
    for label, base_name in [("evaluate(dict)", "siyu CompiledRuleSet.evaluate(dict)"),
                             ("matcher", "siyu compiled.matcher(rule, now)(dict)")]:
        base = results[base_name]
        for k, v in results.items():
            if not k.startswith("siyu"):
                print(f"{k} / siyu {label} (cpu): {v / base:.2f}x (> 1 means siyu is faster)")


if __name__ == "__main__":
    main()
