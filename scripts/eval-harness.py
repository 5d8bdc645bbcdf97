#!/usr/bin/env python3
"""The generalisation harness for theme discovery: `triage eval` on many shapes of one data set.

Automatic discovery must track the true number of themes at every size, not only on the one
set its defaults were first chosen on. This script cuts seeded subsamples of BANKING77 train
(../shared/data/banking77/train.csv) into the shapes feedback arrives in — a few hundred
items with Zipf-like theme sizes, uniform sets of 20 to 130 items per theme, a long tail —
and scores on each, with the same vectors:

* `triage eval --clusters auto` (what a user gets) and `--clusters N` (the true count given);
* scikit-learn KMeans given the true count (n_init 10);
* BERTopic with its defaults (../shared/peers/bertopic_peer.py), including its default topic
  names scored for `label_similarity` the same way triage's labels are.

`--sets agnews,tweet,...` (or `--sets all`) runs the other development sets of
../shared/data instead — broad topics, fine topics, long tails, titles, snippets, tweets —
each in three shapes: a random 2,000 (seeds 1..N), a long tail of 3,000 (Zipf s = 1 over
its categories) and the whole set. `--answers 0,10,20,50` runs `triage eval --answers N`
for each N: triage asks N "same problem?" questions and an oracle answers each from the
labels of the asked pair only (the pairs and answers are logged beside the cell's files).
`--edits 20` adds `triage eval --edits 20` to each automatic run: an oracle makes 20 merges
and moves as a product manager would, a rebuild follows, and the table `edits` (in the
Markdown) says how many the rebuild kept and NMI/ARI on the untouched items before → after.

One JSON line per cell and method goes to stdout; `--markdown FILE` also writes the table.
The peers need the venv of ../shared/peers/setup.sh (`--python`, default .peers-venv);
`--no-peers` runs triage alone. Cells are deterministic: the same seed gives the same rows.

    scripts/eval-harness.py [--cells z400_26,u1500_77,...] [--seeds 1] [--markdown out.md]
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")

# name: (items, intents, shape, zipf exponent). "all" takes every row.
CELLS = {
    "z400_26": (400, 26, "zipf", 0.8),
    "u1500_77": (1500, 77, "uniform", 0),
    "u2300_77": (2300, 77, "uniform", 0),
    "u3000_77": (3000, 77, "uniform", 0),
    "z3000_77": (3000, 77, "zipf", 1.0),
    "all_77": (None, 77, "all", 0),
}
# Shapes never looked at while choosing the method or its defaults: the held-out check.
HELD_OUT = {
    "u800_40": (800, 40, "uniform", 0),
    "z1200_50": (1200, 50, "zipf", 1.2),
    "u5000_77": (5000, 77, "uniform", 0),
    "z6000_60": (6000, 60, "zipf", 0.5),
    # Few, large themes (150 items each): the shape where over-splitting would show.
    "u3000_20": (3000, 20, "uniform", 0),
}
CELLS.update(HELD_OUT)
REQUIRED = [c for c in CELLS if c not in HELD_OUT]
DATA_DIR = os.path.join(ROOT, "..", "shared", "data")
OTHER_SETS = ["agnews", "searchsnippets", "stackoverflow", "biomedical", "tweet", "googlenews_ts",
              "googlenews_t", "googlenews_s"]
# Shapes of every other set: (items, shape, zipf exponent).
SET_SHAPES = {"n2000": (2000, "random", 0), "z3000": (3000, "zipf", 1.0), "all": (None, "all", 0)}


def zipf_sizes(total, avail, s):
    """Sizes proportional to 1/rank^s (rank order = the given order), each capped at what the
    intent has, scaled so that they add up to `total` (bisection on the scale)."""
    lo, hi = 0.0, float(total)
    for _ in range(100):
        c = (lo + hi) / 2
        got = sum(min(a, max(1, round(c / (r + 1) ** s))) for r, a in enumerate(avail))
        lo, hi = (c, hi) if got < total else (lo, c)
    sizes = [min(a, max(1, round(hi / (r + 1) ** s))) for r, a in enumerate(avail)]
    # Rounding leaves the total a few rows off: settle it on the largest uncapped themes.
    r = 0
    while sum(sizes) != total and r < 10 * len(sizes):
        i = r % len(sizes)
        if sum(sizes) > total and sizes[i] > 1:
            sizes[i] -= 1
        elif sum(sizes) < total and sizes[i] < avail[i]:
            sizes[i] += 1
        r += 1
    return sizes


def cut_set(rows, set_name, shape_name, seed):
    """Row indices of one shape of another development set: a random sample, a long tail
    over all its categories (largest first in a seeded order), or everything."""
    items, shape, s = SET_SHAPES[shape_name]
    rng = random.Random(f"{set_name}:{shape_name}:{seed}")
    if shape == "all" or len(rows) <= (items or 0):
        return list(range(len(rows)))
    if shape == "random":
        picked = rng.sample(range(len(rows)), items)
        return picked
    by_label = defaultdict(list)
    for i, r in enumerate(rows):
        by_label[r["category"]].append(i)
    labels = sorted(by_label)
    rng.shuffle(labels)
    sizes = zipf_sizes(min(items, len(rows)), [len(by_label[l]) for l in labels], s)
    picked = []
    for label, size in zip(labels, sizes):
        picked += rng.sample(by_label[label], size)
    rng.shuffle(picked)
    return picked


def cut(rows, cell, seed):
    """Row indices of one cell: which intents, how many items of each."""
    items, intents, shape, s = CELLS[cell]
    by_label = defaultdict(list)
    for i, r in enumerate(rows):
        by_label[r["category"]].append(i)
    rng = random.Random(f"{cell}:{seed}")
    labels = sorted(by_label)
    if shape == "all":
        return list(range(len(rows)))
    chosen = rng.sample(labels, intents)
    avail = [len(by_label[l]) for l in chosen]
    if shape == "uniform":
        base, extra = divmod(items, intents)
        sizes = [min(a, base + (1 if k < extra else 0)) for k, a in enumerate(avail)]
    else:
        sizes = zipf_sizes(items, avail, s)
    picked = []
    for label, size in zip(chosen, sizes):
        picked += rng.sample(by_label[label], size)
    rng.shuffle(picked)
    return picked


def write_csv(path, rows, idx):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "category"])
        for i in idx:
            w.writerow([rows[i]["text"], rows[i]["category"]])


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", default=",".join(REQUIRED),
                   help=f"comma-separated, or 'held-out' for {', '.join(HELD_OUT)}")
    p.add_argument("--sets", help=f"other development sets instead of BANKING77 cells: "
                                  f"comma-separated or 'all' ({', '.join(OTHER_SETS)})")
    p.add_argument("--shapes", default=",".join(SET_SHAPES), help="shapes of --sets")
    p.add_argument("--seeds", type=int, default=1, help="subsamples per cell (seeds 1..N)")
    p.add_argument("--answers", default="0", help="comma-separated numbers of oracle answers")
    p.add_argument("--edits", type=int, default=0, help="oracle edits after each automatic run")
    p.add_argument("--no-fixed", action="store_true", help="skip triage --clusters N")
    p.add_argument("--triage", default=os.path.join(ROOT, "target", "release", "triage"))
    p.add_argument("--python", default=os.path.join(ROOT, ".peers-venv", "bin", "python"))
    p.add_argument("--work", default=os.path.join(ROOT, "target", "harness"))
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--markdown", help="write the results table (Markdown) to this file")
    p.add_argument("--triage-args", default="", help="extra flags for triage eval (experiments)")
    a = p.parse_args()

    os.makedirs(a.work, exist_ok=True)
    import numpy as np  # the venv's or the system's; only for slicing the vector cache

    results = []
    answers = [int(x) for x in a.answers.split(",")]
    if a.sets:
        sets = OTHER_SETS if a.sets == "all" else a.sets.split(",")
        jobs = []
        for set_name in sets:
            rows, full = load_set(a, set_name)
            for shape in a.shapes.split(","):
                seeds = [1] if SET_SHAPES[shape][1] == "all" else range(1, a.seeds + 1)
                for seed in seeds:
                    jobs.append((rows, full, f"{set_name}:{shape}", seed, cut_set(rows, set_name, shape, seed)))
    else:
        rows, full = load_set(a, "banking77")
        cells = list(HELD_OUT) if a.cells == "held-out" else a.cells.split(",")
        jobs = [(rows, full, cell, seed, cut(rows, cell, seed)) for cell in cells
                for seed in ([1] if CELLS[cell][2] == "all" else range(1, a.seeds + 1))]
    for rows, full, cell, seed, idx in jobs:
        run_cell(a, np, results, rows, full, cell, seed, idx, answers)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table(results))
            f.write("\n" + bar(results))
            if a.edits:
                f.write("\n" + edits_table(results))


def bar(results):
    """Each triage run against the bar: count within 0.6×–1.6× of the truth, at most 20 %
    unthemed, NMI and ARI at least BERTopic's on the same cell."""
    peers = {(r["cell"], r["seed"]): r for r in results if r["method"] == "BERTopic"}
    out = ["| cell | method | × true | unthemed | NMI − BERTopic | ARI − BERTopic | bar |",
           "|---|---|---|---|---|---|---|"]
    for r in results:
        if not r["method"].startswith("triage") or r["method"] == "triage N":
            continue
        ratio = r["clusters"] / r["true"]
        peer = peers.get((r["cell"], r["seed"]))
        dn = r["nmi"] - peer["nmi"] if peer else float("nan")
        da = r["ari"] - peer["ari"] if peer else float("nan")
        ok = 0.6 <= ratio <= 1.6 and r["unthemed_fraction"] <= 0.2 and dn >= 0 and da >= 0
        out.append(f"| {r['cell']} s{r['seed']} | {r['method']} | {ratio:.2f}× | "
                   f"{100 * r['unthemed_fraction']:.1f} % | {dn:+.2f} | {da:+.2f} | {'✓' if ok else '✗'} |")
    return "\n".join(out) + "\n"


def edits_table(results):
    """The simulated edits of each automatic run: kept by the rebuild, and NMI/ARI on the
    items they did not touch, before → after."""
    out = ["| cell | method | edits (merges + moves) | kept | NMI untouched | ARI untouched |",
           "|---|---|---|---|---|---|"]
    for r in results:
        e = r.get("edits")
        if not e:
            continue
        out.append(f"| {r['cell']} s{r['seed']} | {r['method']} | {e['made']} ({e['merges']} + {e['moves']}) | "
                   f"{e['kept']} | {e['nmi_untouched_before']:.2f} → {e['nmi_untouched_after']:.2f} | "
                   f"{e['ari_untouched_before']:.2f} → {e['ari_untouched_after']:.2f} |")
    return "\n".join(out) + "\n"


def load_set(a, set_name):
    """The rows of a development set and its embeddings (computed once, cached as .npy)."""
    rows = list(csv.DictReader(open(os.path.join(DATA_DIR, set_name, "train.csv"), newline="")))
    full_csv = os.path.join(a.work, f"{set_name}.csv")
    full_npy = os.path.join(a.work, f"{set_name}.npy")
    write_csv(full_csv, rows, range(len(rows)))
    if not os.path.exists(full_npy):
        print(f"harness: embedding {set_name} once (a few minutes)…", file=sys.stderr)
        subprocess.run([a.triage, "eval", full_csv, "--vectors", full_npy, "--json"], check=True,
                       stdout=subprocess.DEVNULL)
    import numpy as np
    return rows, np.load(full_npy)


def run_cell(a, np, results, rows, full, cell, seed, idx, answers):
    name = f"{cell.replace(':', '_')}_s{seed}"
    csv_path = os.path.join(a.work, name + ".csv")
    npy_path = os.path.join(a.work, name + ".npy")
    write_csv(csv_path, rows, idx)
    np.save(npy_path, full[idx])
    labels = {rows[i]["category"] for i in idx}
    sizes = sorted((sum(1 for i in idx if rows[i]["category"] == l) for l in labels), reverse=True)
    shape = {"cell": cell, "seed": seed, "n": len(idx), "true": len(labels),
             "largest": sizes[0], "smallest": sizes[-1]}
    extra = a.triage_args.split()
    modes = [("auto", n) for n in answers] + ([] if a.no_fixed else [(str(len(labels)), 0)])
    for mode, n in modes:
        tag = f"{mode}_a{n}" if mode == "auto" else mode
        themes_out = os.path.join(a.work, f"{name}_{tag}_themes.json")
        assign = os.path.join(a.work, f"{name}_{tag}_assign.csv")
        cmd = [a.triage, "eval", csv_path, "--vectors", npy_path, "--clusters", mode,
               "--themes-out", themes_out, "--assignments", assign, "--json", *extra]
        if n:
            cmd += ["--answers", str(n), "--answers-log", os.path.join(a.work, f"{name}_{tag}_answers.jsonl")]
        if a.edits and mode == "auto":
            cmd += ["--edits", str(a.edits)]
        r = run_json(cmd)
        method = ("triage auto" if n == 0 else f"triage {n} answers") if mode == "auto" else "triage N"
        named = mode == "auto" and n == 0 and not a.no_peers
        emit(results, shape, method, r, quiet=named)
        if named:
            # BERTopic's default names for triage's own clusters: the label baseline.
            r2 = run_json([a.python, os.path.join(HERE, "harness_peers.py"), "names", csv_path,
                           assign, npy_path])
            results[-1]["label_similarity_bertopic_names"] = r2["label_similarity"]
            print(json.dumps(results[-1]), flush=True)
    if not a.no_peers:
        r = run_json([a.python, os.path.join(HERE, "harness_peers.py"), "kmeans", csv_path,
                      npy_path, str(len(labels))])
        emit(results, shape, "KMeans N", r)
        r = run_json([a.python, os.path.join(PEERS, "bertopic_peer.py"), csv_path, "--npy", npy_path])
        emit(results, shape, "BERTopic", r)


def emit(results, shape, method, r, quiet=False):
    keep = {k: r.get(k) for k in ("clusters", "unthemed_fraction", "nmi", "ari", "acc", "label_similarity",
                                  "label_similarity_keywords", "answers", "edits", "seconds")}
    line = {**shape, "method": method, **{k: v for k, v in keep.items() if v is not None}}
    results.append(line)
    if not quiet:
        print(json.dumps(line), flush=True)


def table(results):
    out = ["| cell | n / true themes | method | themes (× true) | unthemed | NMI | ARI | ACC | label sim. |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = r["clusters"] / r["true"]
        ls = r.get("label_similarity")
        ls = "" if ls is None else f"{ls:.3f}"
        if "label_similarity_keywords" in r:
            ls += f" (keywords {r['label_similarity_keywords']:.3f}"
            if "label_similarity_bertopic_names" in r:
                ls += f", BERTopic names {r['label_similarity_bertopic_names']:.3f}"
            ls += ")"
        out.append(f"| {r['cell']} s{r['seed']} | {r['n']} / {r['true']} ({r['largest']}–{r['smallest']}) | "
                   f"{r['method']} | {r['clusters']} ({ratio:.2f}×) | {100 * r['unthemed_fraction']:.1f} % | "
                   f"{r['nmi']:.2f} | {r['ari']:.2f} | {r['acc']:.2f} | {ls} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
