#!/usr/bin/env python3
"""Peers for scripts/eval-harness.py, run in the venv of ../shared/peers/setup.sh.

    harness_peers.py kmeans CELL.csv CELL.npy K        scikit-learn KMeans with the true count
    harness_peers.py names CELL.csv ASSIGN.csv CELL.npy BERTopic's default topic names for a
                                                       given clustering, scored like triage's labels

`label_similarity` is the mean, weighted by theme size, of the cosine similarity (same model,
all-MiniLM-L6-v2 via the peers' numpy port) between a theme's name and the name of its
majority true label (`card_arrival` → "card arrival") — the definition `triage eval` uses.
"""
import csv
import json
import os
import sys
import time
from collections import Counter, defaultdict

import numpy as np

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers")
sys.path.insert(0, PEERS)
from metrics import scores  # noqa: E402


def read(path, col):
    return [r[col] for r in csv.DictReader(open(path, newline=""))]


def kmeans(csv_path, npy_path, k):
    from sklearn.cluster import KMeans

    labels, X = read(csv_path, "category"), np.load(npy_path)
    t = time.time()
    pred = KMeans(n_clusters=int(k), n_init=10, random_state=0).fit_predict(X)
    return {"peer": "kmeans", "clusters": int(k), "unthemed_fraction": 0.0, **scores(labels, list(pred)),
            "seconds": round(time.time() - t, 1)}


def names(csv_path, assign_path, npy_path):
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from minilm import MiniLM

    texts, truth = read(csv_path, "text"), read(csv_path, "category")
    y = np.array([int(c) for c in read(assign_path, "cluster")])
    tm = BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster())
    topics, _ = tm.fit_transform(texts, embeddings=np.load(npy_path), y=y)
    info = tm.get_topic_info()
    name_of = {int(t): " ".join(str(n).split("_")[1:]) for t, n in zip(info["Topic"], info["Name"])}
    members = defaultdict(list)
    for t, label in zip(topics, truth):
        if t >= 0:
            members[int(t)].append(label)
    pairs = [(name_of[t], Counter(ls).most_common(1)[0][0].replace("_", " "), len(ls))
             for t, ls in members.items()]
    model = MiniLM()
    a = model.encode([p[0] for p in pairs])
    b = model.encode([p[1] for p in pairs])
    w = np.array([p[2] for p in pairs], float)
    sim = float(((a * b).sum(1) * w).sum() / w.sum())
    return {"peer": "bertopic-names", "label_similarity": round(sim, 4),
            "examples": [p[:2] for p in sorted(pairs, key=lambda p: -p[2])[:5]]}


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    print(json.dumps({"kmeans": kmeans, "names": names}[cmd](*args)))
