"""`heard sample-data`: write a demo consultation in the evaluation layout."""

from __future__ import annotations

import time
from pathlib import Path

import click

from heard.cli.common import console, progress_bar
from heard.demo.generator import QUESTIONS


@click.command(
    "sample-data",
    epilog="""\b
Examples:
  heard sample-data demo-data --responses 2000
  heard sample-data big --responses 200000 --seed 7 --force""",
)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--responses",
    "n_responses",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Number of responses (rows of responses.csv). Each respondent answers all "
    f"{len(QUESTIONS)} questions, so N responses come from N/{len(QUESTIONS)} respondents "
    "(rounded up); unanswered questions are rows with empty text.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--force", is_flag=True, help="Overwrite the files of an earlier sample in OUT_DIR.")
def sample_data(out_dir: Path, n_responses: int, seed: int, force: bool) -> None:
    """Write a realistic demo consultation to OUT_DIR, with gold labels.

    A fictional council asks whether a low traffic neighbourhood trial should be made
    permanent: one agree/disagree question, its "why" follow-up and two more open
    questions, respondent details, an organised campaign, empty and junk answers, and
    evidence-rich answers. The files follow Heard's evaluation layout: questions.csv,
    responses.csv, codebook.csv and gold_*.csv (themes, stance, evidence, campaigns).
    """
    from heard.demo.generator import OUTPUT_FILES, write_sample_consultation

    n_respondents = -(-n_responses // len(QUESTIONS))

    existing = [name for name in OUTPUT_FILES if (out_dir / name).exists()]
    if existing and not force:
        raise click.ClickException(
            f"{out_dir} already holds {', '.join(existing)}. "
            "Use --force to overwrite, or choose another folder."
        )
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("Writing respondents", total=n_respondents)
        summary = write_sample_consultation(
            out_dir,
            n_respondents,
            seed=seed,
            progress=lambda done: bar.update(task, completed=done),
        )
    elapsed = time.perf_counter() - started
    campaigns = ", ".join(f"{k} {v:,}" for k, v in summary.campaign_members.items())
    console.print(
        f"Wrote {summary.respondents:,} respondents ({summary.rows:,} answers) to {out_dir} "
        f"in {elapsed:.1f} s.\n"
        f"  empty {summary.empty:,}, junk {summary.junk:,}, "
        f"evidence-rich {summary.evidence_rich:,}; campaigns: {campaigns}.\n"
        f"Next: heard import {out_dir} --consultation demo",
        highlight=False,
        soft_wrap=True,
    )
