#!/usr/bin/env python3
"""Builds the demo data shipped in backend/demo/ from BANKING77 (run once by a developer;
the output is committed, so neither users nor CI need this script or the source data).

    python3 scripts/make-demo-data.py ../shared/data/banking77/train.csv

BANKING77 (PolyAI, CC BY 4.0, https://github.com/PolyAI-LDN/task-specific-datasets): real
customer-support messages to a bank, labelled with 77 intents. We sample messages from a
subset of intents with uneven volumes (so some themes are clearly bigger), turn them into
tickets, star-rating comments and NPS survey comments, and spread them over 12 weeks with a
few intents rising in the last weeks, and one shipped fix whose reports fell after its
rollout (`rollout.json`, loaded by `triage demo`). Customers, scores and dates are invented
(seeded, reproducible). The `category` column is kept in a separate labels file for
evaluating theme discovery; it is not part of what triage imports.
"""
import csv, random, sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone

src = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else "backend/demo"
rng = random.Random(77)
by_cat = defaultdict(list)
for row in csv.DictReader(open(src, newline="")):
    by_cat[row["category"]].append(row["text"].strip())

cats = sorted(by_cat)
rng.shuffle(cats)
chosen = cats[:40]
# Uneven volumes: a few big themes, a long tail.
weights = {c: max(45, int(190 / (1 + i * 0.08))) for i, c in enumerate(chosen)}
rising = set(chosen[3:6])  # these grow in the last three weeks
REFERENCE = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # demo loader shifts to "now"

segments = [("enterprise", 50_000, 400_000), ("smb", 2_000, 40_000), ("consumer", None, None)]
customers = []
first = "Ada Ben Chloé Dmitri Eva Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nadia Omar Priya Quinn Rosa Sven Tomás Uma Vik Wen Xavier Yara Zoë".split()
last = "Nakamura Okafor Müller Rossi García Kowalski Haddad Svensson Dubois Ivanova Chen Silva Novak Eriksen Moreau Tanaka".split()
for i in range(420):
    seg, lo, hi = rng.choices(segments, weights=[1, 3, 6])[0]
    f, l = rng.choice(first), rng.choice(last)
    customers.append({
        "customer_external_id": f"cus_{i:04d}",
        "customer_email": f"{f.lower()}.{l.lower()}{i}@example.com".replace("é", "e").replace("ö", "o").replace("ü", "u").replace("á", "a").replace("ë", "e"),
        "customer_name": f"{f} {l}",
        "customer_segment": seg,
        "customer_account_value": "" if lo is None else str(rng.randint(lo, hi)),
        "customer_notify_opt_in": rng.choice(["true", "false", "false"]),
    })

def when(cat):
    if cat in rising and rng.random() < 0.6:
        days = rng.uniform(0, 21)
    else:
        days = rng.uniform(0, 84)
    return (REFERENCE - timedelta(days=days, minutes=rng.randint(0, 600))).strftime("%Y-%m-%dT%H:%M:%SZ")

tickets, ratings, responses, labels = [], [], [], []
for cat in chosen:
    msgs = by_cat[cat][:]
    rng.shuffle(msgs)
    for n, text in enumerate(msgs[: weights[cat]]):
        c = rng.choice(customers)
        channel = rng.choices(["ticket", "rating", "survey"], weights=[6, 2, 2])[0]
        ext = f"demo-{channel}-{cat}-{n}"
        if channel == "ticket":
            words = text.split()
            subject = " ".join(words[:7]) + ("…" if len(words) > 7 else "")
            tickets.append({"external_id": ext, "subject": subject, "body": text,
                            "priority": rng.choices(["low", "normal", "high", "urgent"], weights=[2, 6, 2, 1])[0],
                            "status": rng.choice(["open", "open", "pending", "solved"]),
                            "tags": cat.split("_")[0], "created_at": when(cat), **c})
        elif channel == "rating":
            ratings.append({"external_id": ext, "score": rng.choices([1, 2, 3, 4, 5], weights=[4, 4, 3, 2, 1])[0],
                            "subject": "Mobile app", "comment": text, "created_at": when(cat), **c})
        else:
            responses.append({"external_id": ext, "nps": rng.choices(range(11), weights=[3, 3, 3, 4, 4, 5, 5, 4, 3, 2, 2])[0],
                              "comment": text, "created_at": when(cat), **c})
        labels.append({"external_id": ext, "category": cat})

# A shipped fix with a known effect, so the demo shows impact (docs/impact.md): the fix for
# the first intent reached consumer customers (the largest segment, so its counts are not
# tiny) 35 days before the reference and everyone 14 days before; after it, 4 in 5 of those
# reports did not happen — their dates move into the four weeks before the rollout that
# reached their customer. A separate seed leaves every other row as it was.
FIX = {"intent": chosen[0], "note": "ATM card-return fix",
       "rollouts": [{"days_before": 35, "segments": ["consumer"]}, {"days_before": 14, "segments": None}]}
fx = random.Random(17)
for rows in (tickets, ratings, responses):
    for r in rows:
        if f"-{FIX['intent']}-" not in r["external_id"]:
            continue
        cut = 35 if r["customer_segment"] == "consumer" else 14
        at = datetime.strptime(r["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if (REFERENCE - at).total_seconds() < cut * 86400 and fx.random() < 0.8:
            r["created_at"] = (REFERENCE - timedelta(days=fx.uniform(cut, cut + 28))).strftime("%Y-%m-%dT%H:%M:%SZ")

def write(name, rows):
    with open(f"{out}/{name}", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader(); w.writerows(rows)

write("tickets.csv", tickets); write("ratings.csv", ratings)
write("survey_responses.csv", responses); write("labels.csv", labels)
import json
with open(f"{out}/rollout.json", "w") as f:
    json.dump(FIX, f, indent=2); f.write("\n")
print(f"{len(tickets)} tickets, {len(ratings)} ratings, {len(responses)} survey responses, {len(chosen)} intents")
