#!/usr/bin/env python3
"""PostgreSQL full-text search and SQLite FTS5 on the split of `triage bench relevance`.

    triage bench relevance --export DIR --json          # writes DIR/relevance-split.json
    .peers-venv/bin/python scripts/relevance_peers.py DIR/relevance-split.json

Scores the peers exactly as the bench scores triage: per query set (held-out messages,
short queries), nDCG@10 with binary gains (relevant = same intent) and recall@50 (relevant
items in the top 50 over all relevant items in the corpus). Each peer runs as a user would
set it up — the queries of ../shared/peers/search_peer.py:

* PostgreSQL: `to_tsvector('english', text)` with a GIN index, `websearch_to_tsquery`
  (every word required), ranked by `ts_rank`; and the same with the words OR-ed
  (`any_word`), since a whole message rarely has every word of another;
* SQLite FTS5 (porter tokenizer): every word quoted and required, ranked by `bm25`; and
  the words OR-ed.

PostgreSQL at PGURL (default postgresql://postgres@127.0.0.1:5432/postgres); a scratch
database peers_relevance is created and dropped. Prints one JSON line per peer and set.
"""
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter


def ndcg(rel, total, k=10):
    gain = lambda r: 1.0 / math.log2(r + 2)
    dcg = sum(gain(i) for i, x in enumerate(rel[:k]) if x)
    ideal = sum(gain(i) for i in range(min(total, k)))
    return dcg / ideal if ideal else 0.0


def score(name, part, search):
    intent = {d["id"]: d["intent"] for d in part["corpus"]}
    counts = Counter(intent.values())
    n = r = 0.0
    for q in part["queries"]:
        ids = search(q["query"])
        rel = [intent[i] == q["intent"] for i in ids]
        n += ndcg(rel, counts[q["intent"]])
        r += sum(rel) / counts[q["intent"]] if counts[q["intent"]] else 0
    m = max(len(part["queries"]), 1)
    return {"ndcg_at_10": round(n / m, 4), "recall_at_50": round(r / m, 4)}


def words(q):
    return re.findall(r"[a-z0-9]+", q.lower())


def postgres(split):
    import psycopg

    base = os.environ.get("PGURL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS peers_relevance")
        admin.execute("CREATE DATABASE peers_relevance")
    url = base.rsplit("/", 1)[0] + "/peers_relevance"
    try:
        with psycopg.connect(url, autocommit=True) as db:
            for set_name, part in split.items():
                db.execute("DROP TABLE IF EXISTS docs")
                db.execute("CREATE TABLE docs (id int PRIMARY KEY, body text, tsv tsvector GENERATED ALWAYS AS "
                           "(to_tsvector('english', body)) STORED)")
                with db.cursor().copy("COPY docs (id, body) FROM STDIN") as cp:
                    for d in part["corpus"]:
                        cp.write_row((d["id"], d["text"]))
                db.execute("CREATE INDEX ON docs USING gin (tsv)")
                db.execute("ANALYZE docs")

                def all_words(q):
                    return [row[0] for row in db.execute(
                        "SELECT id FROM docs, websearch_to_tsquery('english', %s) query WHERE tsv @@ query "
                        "ORDER BY ts_rank(tsv, query) DESC, id LIMIT 50", (q,)).fetchall()]

                def any_word(q):
                    w = words(q)
                    if not w:
                        return []
                    return [row[0] for row in db.execute(
                        "SELECT id FROM docs, websearch_to_tsquery('english', %s) query WHERE tsv @@ query "
                        "ORDER BY ts_rank(tsv, query) DESC, id LIMIT 50", (" or ".join(w),)).fetchall()]

                for variant, fn in [("all_words", all_words), ("any_word", any_word)]:
                    print(json.dumps({"peer": "postgres-fts", "variant": variant, "set": set_name,
                                      **score("postgres", part, fn)}), flush=True)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS peers_relevance")


def sqlite(split):
    tmp = tempfile.mkdtemp()
    try:
        for set_name, part in split.items():
            db = sqlite3.connect(os.path.join(tmp, f"{set_name}.db"))
            db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')")
            db.executemany("INSERT INTO docs (rowid, body) VALUES (?, ?)",
                           [(d["id"], d["text"]) for d in part["corpus"]])
            db.commit()

            def run(q, joiner):
                w = words(q)
                if not w:
                    return []
                m = joiner.join('"%s"' % x for x in w)
                return [row[0] for row in db.execute(
                    "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs), rowid LIMIT 50", (m,)).fetchall()]

            for variant, joiner in [("all_words", " "), ("any_word", " OR ")]:
                print(json.dumps({"peer": "sqlite-fts5", "variant": variant, "set": set_name,
                                  **score("sqlite", part, lambda q: run(q, joiner))}), flush=True)
            db.close()
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    split = json.load(open(sys.argv[1]))
    peers = sys.argv[2:] or ["postgres", "sqlite"]
    if "postgres" in peers:
        postgres(split)
    if "sqlite" in peers:
        sqlite(split)
