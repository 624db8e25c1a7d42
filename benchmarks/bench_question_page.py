"""Time the question page with three filters over a question of 200,000 responses.

Seeds a fresh SQLite store (bulk_create: respondents with a region, responses with stance,
evidence and campaigns, a two-level theme hierarchy and ~1.5 assignments per response),
then requests the question page filtered by theme + stance + region many times through
Django's test client (the full view: filters, counts, hierarchy, stance split, page of
responses, template). Prints p50/p95 and writes benchmarks/out/question_page.json.

    .venv/bin/python benchmarks/bench_question_page.py [--responses 200000] [--repeats 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
REGIONS = ["North", "South", "East", "West", "Central"]
WORDS = ("parking traffic buses cycling school noise safety air shops trade cost charges "
         "children elderly access delivery emergency pollution congestion residents").split()


def seed(n: int, rng: random.Random):
    from django.contrib.auth import get_user_model

    from heard.store.models import (
        Assignment,
        Consultation,
        DuplicateGroup,
        Membership,
        Question,
        Respondent,
        Response,
        Theme,
    )

    consultation = Consultation.objects.create(name="bench", title="Benchmark")
    question = Question.objects.create(consultation=consultation, key="q2", text="Why?",
                                       kind="open", position=1)
    Question.objects.create(consultation=consultation, key="region", text="Region",
                            kind="demographic", options=REGIONS, position=2)
    parents = [Theme.objects.create(question=question, key=f"p{i}", label=f"Parent {i}",
                                    position=i) for i in range(3)]
    leaves = []
    for i in range(9):
        leaves.append(Theme.objects.create(question=question, key=f"c{i}", label=f"Child {i}",
                                           parent=parents[i // 3], position=10 + i))
    for i in range(3):
        leaves.append(Theme.objects.create(question=question, key=f"t{i}", label=f"Top {i}",
                                           position=20 + i))
    groups = DuplicateGroup.objects.bulk_create([
        DuplicateGroup(question=question, key=f"g{i}", kind="campaign",
                       canonical_text="form letter", size=2000) for i in range(10)
    ])
    batch = 20_000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        people = Respondent.objects.bulk_create([
            Respondent(consultation=consultation, key=f"r{start + i}",
                       attributes={"region": rng.choice(REGIONS)}) for i in range(size)
        ])
        responses = Response.objects.bulk_create([
            Response(question=question, respondent=p, key=f"a{p.key[1:]}",
                     text=" ".join(rng.choices(WORDS, k=rng.randint(8, 40))),
                     content_hash=f"{rng.getrandbits(64):016x}", outcome="mapped",
                     stance=rng.choice(["agree", "disagree", "unclear"]),
                     evidence_rich=rng.random() < 0.15,
                     group=groups[rng.randrange(10)] if rng.random() < 0.1 else None)
            for p in people
        ])
        assignments = []
        for r in responses:
            for theme in rng.sample(leaves, 1 if rng.random() < 0.55 else 2):
                assignments.append(Assignment(response=r, theme=theme, confidence=0.7,
                                              ai_original=True))
        Assignment.objects.bulk_create(assignments, batch_size=5000)
    user = get_user_model().objects.create_user("bench@example.org", "bench@example.org",
                                                "bench-password")
    Membership.objects.create(user=user, consultation=consultation, role="lead")
    return consultation, question, parents, user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--store", help="reuse the HEARD_HOME of an earlier run (no seeding)")
    args = parser.parse_args()
    home = args.store or tempfile.mkdtemp(prefix="heard-bench-page-")
    os.environ["HEARD_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    os.environ["HEARD_ALLOWED_HOSTS"] = "testserver,localhost"
    from heard.store.setup import open_store

    open_store()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    rng = random.Random(7)
    clock = time.perf_counter()
    if args.store:
        from django.contrib.auth import get_user_model

        from heard.store.models import Question, Theme

        question = Question.objects.get(consultation__name="bench", key="q2")
        parents = list(Theme.objects.filter(question=question, parent=None).order_by("position"))
        user = get_user_model().objects.get(username="bench@example.org")
        args.responses = question.responses.count()
    else:
        _, question, parents, user = seed(args.responses, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    seeded = time.perf_counter() - clock
    client = Client()
    client.force_login(user)
    url = reverse("heard:question", kwargs={"name": "bench", "qid": question.pk})
    cases = {
        "theme+stance+region": f"{url}?theme={parents[0].pk}&stance=agree&demo=region=North",
        "no filter": url,
        "keyword": f"{url}?q=parking+buses",
    }
    results = {"responses": args.responses, "repeats": args.repeats,
               "seed_seconds": round(seeded, 1), "cases": {}}
    for name, target in cases.items():
        first = client.get(target)
        assert first.status_code == 200, first.status_code
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            reply = client.get(target)
            times.append((time.perf_counter() - start) * 1000)
            assert reply.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        results["cases"][name] = {"p50_ms": round(statistics.median(times), 1),
                                  "p95_ms": round(p95, 1)}
        print(f"{name:22s} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")
    OUT.mkdir(exist_ok=True)
    (OUT / "question_page.json").write_text(json.dumps(results, indent=2))
    print(f"seeded {args.responses} responses in {seeded:.1f} s; store in {home}")


if __name__ == "__main__":
    main()
