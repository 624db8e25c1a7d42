"""The result of one evaluation: its JSON document and its table."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SCHEMA_VERSION = 1

# metric suffixes folded into their base metric's cell in the table
_CI_LOW, _CI_HIGH, _SD = "_ci_low", "_ci_high", "_sd"


@dataclass
class EvalResult:
    """Everything one ``heard evaluate`` run measured (see docs/evaluation.md for the schema)."""

    mode: str
    dataset: str
    n_responses: int
    metrics: dict[str, float]
    per_theme: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    #: the themes predicted per (question id, response id), where the mode maps; not in JSON
    predictions: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON document: stable top-level keys, floats rounded to 6 places."""
        return {
            "schema_version": SCHEMA_VERSION,
            "mode": self.mode,
            "dataset": self.dataset,
            "n_responses": self.n_responses,
            "wall_s": round(self.wall_s, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "metrics": _clean(self.metrics),
            "per_theme": _clean(self.per_theme),
            "params": self.params,
            "versions": self.versions,
            "baselines": _clean(self.baselines),
            "details": _clean(self.details),
            "warnings": list(self.warnings),
        }

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8, indented)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def _clean(value: Any) -> Any:
    """Round floats; NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _cell(metrics: dict[str, float], key: str) -> str:
    """A metric's value, with its CI or standard deviation when present."""
    value = metrics.get(key)
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool) or key.startswith("n_"):
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3f}"
    if f"{key}{_SD}" in metrics:
        text += f" ± {metrics[f'{key}{_SD}']:.3f}"
    if f"{key}{_CI_LOW}" in metrics and f"{key}{_CI_HIGH}" in metrics:
        text += f" [{metrics[f'{key}{_CI_LOW}']:.3f}–{metrics[f'{key}{_CI_HIGH}']:.3f}]"
    return text


def _base_keys(*metric_sets: dict[str, float]) -> list[str]:
    keys: list[str] = []
    for metrics in metric_sets:
        for key in metrics:
            if key.endswith((_CI_LOW, _CI_HIGH, _SD)) or key in keys:
                continue
            keys.append(key)
    return keys


def print_result(result: EvalResult, console: Console, *, per_theme_rows: int = 40) -> None:
    """The metrics table (Heard beside any baseline), per-theme scores, warnings."""
    title = f"heard evaluate · {result.mode} · {result.dataset} · {result.n_responses:,} responses"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("heard", justify="right")
    for name in result.baselines:
        table.add_column(name, justify="right")
    for key in _base_keys(result.metrics, *result.baselines.values()):
        table.add_row(
            key,
            _cell(result.metrics, key),
            *(_cell(b, key) for b in result.baselines.values()),
        )
    table.add_row("wall time (s)", f"{result.wall_s:.1f}", *("" for _ in result.baselines))
    table.add_row("peak RSS (MB)", f"{result.peak_rss_mb:.0f}", *("" for _ in result.baselines))
    console.print(table)

    confusion = result.details.get("confusion")
    if confusion:
        labels = confusion["labels"]
        ctable = Table(title="confusion (rows: gold, columns: predicted)", title_justify="left")
        ctable.add_column("gold \\ predicted")
        for label in labels:
            ctable.add_column(str(label), justify="right")
        for label, row in zip(labels, confusion["matrix"], strict=True):
            ctable.add_row(str(label), *(str(v) for v in row))
        console.print(ctable)

    mapping = result.details.get("stance_label_mapping")
    if mapping:
        pairs = ", ".join(f"{written!r} → {label}" for written, label in mapping.items())
        console.print(f"stance labels read as: {pairs}")
    off = [q for q, asks in result.details.get("asks_for_position", {}).items() if not asks]
    if off:
        console.print(
            f"questions that ask for no position (stance would not be shown): {', '.join(off)}"
        )

    if result.per_theme:
        ptable = Table(title="per theme", title_justify="left")
        for col in ("question", "theme", "precision", "recall", "f1", "support"):
            ptable.add_column(col, justify="left" if col in ("question", "theme") else "right")
        rows = sorted(result.per_theme, key=lambda r: (-r["support"], r["question_id"], r["theme"]))
        for row in rows[:per_theme_rows]:
            ptable.add_row(
                row["question_id"],
                str(row["theme"]),
                f"{row['precision']:.3f}",
                f"{row['recall']:.3f}",
                f"{row['f1']:.3f}",
                str(row["support"]),
            )
        if len(rows) > per_theme_rows:
            ptable.caption = f"{len(rows) - per_theme_rows} more in the JSON output"
        console.print(ptable)

    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
