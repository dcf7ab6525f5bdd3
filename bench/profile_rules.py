"""Profile the rule catalogue: which rules cost most, and how cost grows with the rule count.

    python bench/profile_rules.py FILE [--repeat 3] [--out bench/rule_profile.json]

Reads FILE once, builds the shared features and the rule scopes once, then times each rule
alone as the engine runs it (scoped, in-memory engine; median of --repeat runs, each
collecting only that rule's plan), and the whole catalogue run together
with ``collect_all`` for the first k rules (k = 10, 20, ... all, in the catalogue's order) to
show how the cost grows with the number of rules. Times are wall-clock seconds on a shared
machine: compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import polars as pl

from dermaudit import engine, features, ingest
from dermaudit.refdata import load_refdata
from dermaudit.rules.base import Context


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/rule_profile.json")
    args = ap.parse_args()

    ref = load_refdata()
    rules = engine.select_rules(["ALL"])
    t0 = time.perf_counter()
    ing = ingest.load([args.file], payer_rules=ref.payer_rules)
    t_ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    lines = features.enrich_lines(ing.lines, ref)
    days = features.build_days(
        lines, {c for r in rules for c in r.codes}, {f for r in rules for f in r.unit_families}
    )
    t_features = time.perf_counter() - t0
    ctx = Context(ref=ref, lines=lines.lazy(), days=days.lazy(), present=ing.present)
    runnable = [r for r in rules if all(c in ing.present for c in r.requires)]
    # as the engine runs them: a scoped rule reads the days of its scope only
    t0 = time.perf_counter()
    scopes = engine.Scopes(ctx, lines, days)
    contexts = {r.id: scopes.context(r) for r in runnable}
    t_scopes = time.perf_counter() - t0

    per_rule = []
    for r in runnable:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            n = r.check(contexts[r.id]).collect(engine=engine.COLLECT_ENGINE).height
            times.append(time.perf_counter() - t)
        per_rule.append(
            {
                "rule": r.id,
                "scope": list(r.scope),
                "seconds": statistics.median(times),
                "findings": n,
            }
        )
    per_rule.sort(key=lambda x: -x["seconds"])

    growth = []
    for k in [*range(10, len(runnable), 10), len(runnable)]:
        t = time.perf_counter()
        pl.collect_all(
            [r.check(contexts[r.id]) for r in runnable[:k]], engine=engine.COLLECT_ENGINE
        )
        growth.append({"rules": k, "seconds": time.perf_counter() - t})

    out = {
        "file": args.file,
        "lines": ing.lines.height,
        "ingest_s": t_ingest,
        "features_s": t_features,
        "scopes_s": t_scopes,
        "sum_of_rules_s": sum(x["seconds"] for x in per_rule),
        "per_rule": per_rule,
        "growth": growth,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(
        f"{out['lines']:,} lines: ingest {t_ingest:.2f}s, features {t_features:.2f}s, "
        f"scope keys {t_scopes:.2f}s, rules one by one {out['sum_of_rules_s']:.2f}s"
    )
    print("| rule | seconds | findings |\n|---|---:|---:|")
    for x in per_rule[:20]:
        print(f"| {x['rule']} | {x['seconds']:.3f} | {x['findings']} |")
    print("\n| rules | collect_all seconds |\n|---:|---:|")
    for g in growth:
        print(f"| {g['rules']} | {g['seconds']:.2f} |")


if __name__ == "__main__":
    main()
