"""LLM tokens per 1,000 responses: Heard's LLM stage against ThemeFinder, same fake server.

Both talk to one token-counting OpenAI-compatible fake server on 127.0.0.1 (tests/llm/
fake_llm.py), which counts every request the same way (one token per four UTF-8 bytes of
every message, plus the JSON schema sent with it). Nothing leaves the machine.

* Heard: `heard import` + `heard analyse --llm openai:fake-model` in a temporary HEARD_HOME
  (the offline analysis, then labels, condensing, the mapping cascade and summaries).
* ThemeFinder: installed from PyPI into its own virtualenv under benchmarks/out/, running
  `find_themes` (generation, condensation, refinement, mapping, detail detection). The fake
  answers its calls with schema-valid content built from its prompts (ids echoed). Its
  token counter needs tiktoken's o200k file, which is fetched from the internet at run time;
  it is replaced by the same four-bytes-per-token estimate (it only decides batch splits).

Usage: python benchmarks/bench_llm_tokens.py [--data ../shared/data/gambling_1000]
Writes benchmarks/out/bench_llm_tokens.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"

from tests.llm.fake_llm import FakeLLM  # noqa: E402

_RESPONSE = re.compile(r"'response': ['\"](.*?)['\"]\}")
_ID = re.compile(r"'response_id': (\d+)")
_LABEL = re.compile(r"'topic_label': ['\"](.*?)['\"],")
_TOPIC = re.compile(r"'topic': ['\"](.*?)['\"],")
_TOPIC_ID = re.compile(r"'topic_id': ['\"]([A-Z]+)['\"]")
_STOP = set("that this with have from they their would will about been more than which "
            "there these those also into could should such other what when because being "
            "some only over while where very much many like just even most make".split())


def themefinder_answer(name: str, schema: dict, prompt: str) -> Any:
    """Schema-valid answers for ThemeFinder's output models, computed from its prompt."""
    if name == "ThemeGenerationResponses":
        texts = _RESPONSE.findall(prompt) or [prompt]
        words = Counter(w for t in texts for w in re.findall(r"[a-z]{5,}", t.lower())
                        if w not in _STOP)
        return {"responses": [
            {"topic_label": f"concerns about {w}",
             "topic_description": f"Respondents discuss {w} and its effects.",
             "position": ["AGREEMENT", "DISAGREEMENT", "UNCLEAR"][i % 3]}
            for i, (w, _) in enumerate(words.most_common(8))]}
    if name == "ThemeCondensationResponses":
        labels = _LABEL.findall(prompt)
        # merge labels that share their last word (a duplicate point, phrased twice)
        groups: dict[str, int] = Counter(lab.split()[-1] if lab else "other" for lab in labels)
        return {"responses": [
            {"topic_label": f"concerns about {w}",
             "topic_description": f"Respondents discuss {w}.", "source_topic_count": n}
            for w, n in groups.items()] or [
            {"topic_label": "general", "topic_description": "General.", "source_topic_count": 1}]}
    if name == "ThemeRefinementResponses":
        labels = _LABEL.findall(prompt) or ["general"]
        return {"responses": [
            {"topic": f"{lab.title()}: respondents discuss {lab}.", "source_topic_count": 1}
            for lab in dict.fromkeys(labels)]}
    if name == "ThemeMappingResponses":
        ids = _ID.findall(prompt)
        topics = _TOPIC_ID.findall(prompt) or ["A"]
        return {"responses": [{"response_id": int(i), "labels": [topics[int(i) % len(topics)]]}
                              for i in dict.fromkeys(ids)]}
    if name == "DetailDetectionResponses":
        return {"responses": [{"response_id": int(i), "evidence_rich": "NO"}
                              for i in dict.fromkeys(_ID.findall(prompt))]}
    return None


def run_heard(data: Path, server: FakeLLM) -> dict[str, Any]:
    env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "bench"}
    with tempfile.TemporaryDirectory() as home:
        env["HEARD_HOME"] = home
        heard = [sys.executable, "-m", "heard"]
        subprocess.run([*heard, "import", str(data), "--consultation", "bench"], env=env,
                       check=True, capture_output=True)
        est = subprocess.run([*heard, "analyse", "bench", "--llm", "openai:fake-model",
                              "--estimate"], env=env, check=True, capture_output=True, text=True)
        server.reset_stats()
        start = time.perf_counter()
        done = subprocess.run([*heard, "analyse", "bench", "--llm", "openai:fake-model"],
                              env=env, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        ledger = subprocess.run([*heard, "llm", "ledger", "bench", "--json"], env=env,
                                check=True, capture_output=True, text=True)
    return {"stats": dict(server.stats), "seconds": round(seconds, 1),
            "estimate_output": est.stdout.strip(), "output": done.stdout.strip()[-600:],
            "ledger_totals": json.loads(ledger.stdout)["totals"],
            "ledger_by_task": {q: {"by_task": e["by_task"], "outcomes": e["outcomes"],
                                   "stages": e["stages"]}
                               for q, e in json.loads(ledger.stdout)["questions"].items()}}


RUNNER = r'''
import asyncio, csv, json, sys
import themefinder.llm_batch_processor as bp
bp.calculate_string_token_length = lambda text, model=None: -(-len(text.encode()) // 4)
import pandas as pd
from themefinder import OpenAILLM, find_themes
data, url = sys.argv[1], sys.argv[2]
questions = {r["question_id"]: r["text"] for r in csv.DictReader(open(f"{data}/questions.csv"))}
rows = list(csv.DictReader(open(f"{data}/responses.csv", encoding="utf-8")))
out = {}
for qid, qtext in questions.items():
    df = pd.DataFrame([{"response_id": int(r["response_id"]), "response": r["text"]}
                       for r in rows if r["question_id"] == qid and r["text"].strip()])
    llm = OpenAILLM(model="fake-model", base_url=url, api_key="bench", max_retries=0)
    result = asyncio.run(find_themes(df, llm, question=qtext, verbose=False, concurrency=2))
    out[qid] = {"themes": len(result["themes"]), "mapped": len(result["mapping"]),
                "unprocessable": len(result["unprocessables"])}
print(json.dumps(out))
'''


def themefinder_python() -> Path:
    venv = OUT / "themefinder-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "themefinder>=0.8,<0.9"],
                       check=True)
    return python


def run_themefinder(data: Path, server: FakeLLM) -> dict[str, Any]:
    python = themefinder_python()
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m;"
                              "print(m.version('themefinder'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    server.reset_stats()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(RUNNER)
    start = time.perf_counter()
    done = subprocess.run([str(python), handle.name, str(data), server.url],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    os.unlink(handle.name)
    if done.returncode != 0:
        raise RuntimeError(f"ThemeFinder failed:\n{done.stderr[-3000:]}")
    return {"stats": dict(server.stats), "seconds": round(seconds, 1), "version": version,
            "result": json.loads(done.stdout.strip().splitlines()[-1])}


def per_thousand(stats: dict[str, int], n: int) -> dict[str, float]:
    return {k: round(v * 1000 / n, 1) for k, v in stats.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" /
                        "gambling_1000")
    parser.add_argument("--skip-themefinder", action="store_true")
    args = parser.parse_args()
    data = args.data.resolve()
    with open(data / "responses.csv", encoding="utf-8") as handle:
        n = sum(1 for _ in handle) - 1
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"data": data.name, "responses": n}
    with FakeLLM("openai", answer_hook=themefinder_answer) as server:
        report["heard"] = run_heard(data, server)
        if not args.skip_themefinder:
            report["themefinder"] = run_themefinder(data, server)
    rows = [("Heard", report["heard"]["stats"])]
    if "themefinder" in report:
        rows.append((f"ThemeFinder {report['themefinder']['version']}",
                     report["themefinder"]["stats"]))
    print(f"{data.name}: {n} responses; per 1,000 responses")
    print(f"{'tool':<22}{'calls':>10}{'prompt tokens':>16}{'completion tokens':>20}")
    for name, stats in rows:
        p = per_thousand(stats, n)
        print(f"{name:<22}{p['calls']:>10}{p['prompt_tokens']:>16}{p['completion_tokens']:>20}")
    if "themefinder" in report:
        ratio = report["heard"]["stats"]["prompt_tokens"] / max(
            report["themefinder"]["stats"]["prompt_tokens"], 1)
        report["prompt_token_ratio"] = round(ratio, 4)
        print(f"Heard / ThemeFinder prompt tokens: {ratio:.3f}")
    (OUT / "bench_llm_tokens.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
