"""`heard evaluate`: score Heard on a labelled consultation in the evaluation layout."""

from __future__ import annotations

import click

from heard.cli.common import console, err_console

MODES = (
    "discover", "codebook", "fewshot", "stance", "evidence", "campaigns", "stability", "corrections"
)

HELP = """Score Heard against the gold labels in DIR (the evaluation layout).

\b
Modes and the files they need besides responses.csv:
  discover   gold_themes.csv      blind theme discovery, matched to the gold themes
  codebook   codebook.csv, gold_themes.csv   zero-shot mapping to the codebook
  fewshot    codebook.csv, gold_themes.csv   K gold examples per theme, R draws
  stance     gold_stance.csv      agree / disagree / unclear
  evidence   gold_evidence_rich.csv          evidence-rich flag (YES/NO)
  campaigns  gold_campaigns.csv   campaign groups (B-cubed)
  stability  (none)               ARI between discovery runs with seeds S, S+1, S+2
  corrections codebook.csv, gold_themes.csv  micro-F1 after 0/20/50/100/200 corrections

\b
Examples:
  heard evaluate ../data/gambling_1000 --mode codebook --json codebook.json
  heard evaluate ../data/gambling_1000 --mode fewshot --k 10 --repeats 5
  heard evaluate ../data/argkp --mode fewshot --k 5 --none-examples 5
  heard evaluate ../data/gambling_1000 --mode corrections --repeats 3
  heard evaluate ../data/gambling_xs --mode discover --question q1

See docs/evaluation.md for the layout, every metric and the JSON schema.
"""


@click.command("evaluate", help=HELP)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--mode", "mode", type=click.Choice(MODES), required=True, help="What to score.")
@click.option(
    "--k",
    "k",
    type=int,
    default=10,
    show_default=True,
    help="fewshot: gold examples per theme (excluded from scoring).",
)
@click.option(
    "--none-examples",
    "none_examples",
    type=int,
    default=0,
    show_default=True,
    help="fewshot: also draw N gold answers with no theme per question as \"no theme\" "
    "examples (fewer when fewer exist; excluded from scoring).",
)
@click.option(
    "--repeats",
    type=int,
    default=5,
    show_default=True,
    help="fewshot, corrections: draws of the examples; metrics are mean ± sd.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option(
    "--embedder",
    default="auto",
    show_default=True,
    help="auto (multilingual when the responses are not English) | minilm | static | "
    "multilingual | minilm+multilingual.",
)
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    type=click.Choice(["tfidf-logreg", "embed-logreg", "bertopic"]),
    help="Run a baseline beside Heard: bertopic (discover). fewshot and corrections always "
    "show tfidf-logreg and embed-logreg.",
)
@click.option("--question", default=None, help="Evaluate one question only (its question_id).")
@click.option(
    "--bootstrap",
    "n_boot",
    type=int,
    default=1000,
    show_default=True,
    help="Bootstrap draws for the 95% CIs (0: none).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Do not read or write cached embeddings under HEARD_HOME/cache/evaluate.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the results as JSON to this file.",
)
@click.option("--quiet", is_flag=True, help="No progress messages.")
def evaluate_cmd(
    directory: str,
    mode: str,
    k: int,
    none_examples: int,
    repeats: int,
    seed: int,
    embedder: str,
    baselines: tuple[str, ...],
    question: str | None,
    n_boot: int,
    no_cache: bool,
    json_out: str | None,
    quiet: bool,
) -> None:
    from heard.evaluation.dataset import DatasetError
    from heard.evaluation.modes import EvalOptions, EvaluationError, evaluate
    from heard.evaluation.report import print_result

    def log(message: str) -> None:
        if not quiet:
            err_console.print(f"[dim]{message}[/dim]")

    options = EvalOptions(
        mode=mode,
        k=k,
        none_examples=none_examples,
        repeats=repeats,
        seed=seed,
        embedder=embedder,
        baselines=tuple(dict.fromkeys(baselines)),
        question=question,
        n_boot=n_boot,
        cache=not no_cache,
        log=log,
    )
    try:
        result = evaluate(directory, options)
    except (DatasetError, EvaluationError) as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:
        raise click.ClickException(
            f"Mode {mode!r} needs an analysis component that is not available: {exc}"
        ) from None
    print_result(result, console)
    if json_out:
        result.write_json(json_out)
        log(f"wrote {json_out}")
