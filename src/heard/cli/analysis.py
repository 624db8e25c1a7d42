"""`heard analyse`, `themes`, `show`, `export` and `suggest-review`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from heard.cli.common import (
    console,
    get_consultation,
    get_question,
    open_store,
    print_json,
    shown,
    terminal_safe,
)
from heard.io.writers import EXPORT_FORMATS, write_export

EMBEDDERS = ["auto", "minilm", "static", "multilingual", "minilm+multilingual"]


@click.command("analyse")
@click.argument("name")
@click.option("--question", "-q", help="Analyse only this question (its id).")
@click.option("--seed", default=0, show_default=True, help="Random seed; same seed, same result.")
@click.option(
    "--embedder",
    type=click.Choice(EMBEDDERS),
    default="auto",
    show_default=True,
    help="auto: minilm for English answers, multilingual for others; minilm: accurate "
    "English; static: fast for very large sets; multilingual; minilm+multilingual: both "
    "side by side (slowest).",
)
@click.option(
    "--codebook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Map to an analyst's codebook (codebook.csv: question_id,theme,label,description).",
)
@click.option(
    "--codebook-from",
    metavar="OTHER[:QUESTION]",
    help="Start from the themes of another consultation: OTHER:QUESTION gives that "
    "question's themes to the question chosen with --question; OTHER alone gives each "
    "question the themes of the question with the same id in OTHER.",
)
@click.option(
    "--examples",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled examples for few-shot mapping (response_id,question_id,theme; the theme "
    "none marks an answer about none of the themes).",
)
@click.option("--rediscover", is_flag=True, help="Discover themes afresh, replacing the old ones.")
@click.option("--llm", "llm_name", help="Improve the results with an LLM: PROVIDER:MODEL or a "
              "profile (see `heard llm check --help`).")
@click.option("--llm-config", type=click.Path(dir_okay=False, path_type=Path),
              help="LLM config file (default: $HEARD_HOME/llm.toml).")
@click.option("--llm-budget", type=float, help="Stop calling the LLM once this much is spent.")
@click.option("--llm-stages", default="labels,condense,mapping,summaries", show_default=True,
              help="With --llm: which LLM stages run (comma-separated).")
@click.option("--estimate", is_flag=True, help="With --llm: print calls, tokens and cost, "
              "and stop before spending anything.")
@click.option("--ray", "ray_address", metavar="auto|local|ADDRESS",
              help="Spread embedding, duplicate hashing and prediction over Ray workers: "
              "auto joins or starts a local instance, local always starts one, or give a "
              "cluster (ray://HOST:10001, or HOST:6379 from a cluster node). "
              "Needs heard[ray].")
@click.option("--ray-workers", type=click.IntRange(min=1),
              help="With --ray: workers to start (default: every CPU Ray has).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Texts per chunk of work handed to a worker.")
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
              help="If another run is analysing this consultation, wait up to SECONDS for it "
                   "to finish (by default: stop at once with a message).")
def analyse_cmd(name, question, seed, embedder, codebook, codebook_from, examples, rediscover,
                llm_name,
                llm_config, llm_budget, llm_stages, estimate, ray_address, ray_workers,
                chunk_size, wait):
    """Find themes, map every response, and read stance, evidence and campaigns.

    \b
    Examples:
      heard analyse demo
      heard analyse demo --question q2 --seed 3
      heard analyse demo --codebook codebook.csv --examples labelled.csv
      heard analyse parking-2027 --question q2 --codebook-from parking-2026:q2
      heard analyse demo --embedder static --ray auto

    A run that is stopped part-way resumes when the same command runs again.
    Themes that exist are kept (and re-mapped using analysts' corrections)
    unless --rediscover, --codebook or --codebook-from is given.
    """
    open_store()
    from heard.pipeline.analysis import AnalyseParams, AnalysisError, start_run
    from heard.pipeline.leases import LeaseHeld, wait_for_lease
    from heard.store.models import Run

    consultation = get_consultation(name)
    if codebook and codebook_from:
        raise click.ClickException("Choose one starting codebook: --codebook FILE or "
                                   "--codebook-from OTHER[:QUESTION].")
    stages = _llm_stages(llm_stages)
    llm = _llm_setup(llm_name, llm_config, estimate)
    params = AnalyseParams(
        seed=seed,
        embedder=embedder,
        question=question,
        codebook=str(codebook.resolve()) if codebook else None,
        codebook_from=codebook_from,
        examples=str(examples.resolve()) if examples else None,
        rediscover=rediscover,
        llm=llm_name,
        llm_stages=stages,
        llm_budget=llm_budget,
        llm_config=str(llm_config.resolve()) if llm_config else None,
    )
    if estimate:
        _print_estimate(consultation, question, llm, stages)
        return
    if ray_workers and not ray_address:
        raise click.ClickException("--ray-workers needs --ray.")
    executor = None
    if ray_address:
        from heard.pipeline.analysis import resolve_embedder

        executor = _ray_executor(ray_address, ray_workers, resolve_embedder(consultation, embedder))
    try:
        wait_for_lease(consultation, wait)
        run = start_run(consultation, params)
        if run.state.get("done"):
            done = len(run.state["done"])
            console.print(f"Resuming run {run.id}: {done} question(s) already done.")
        try:
            run = _run_with_progress(run, executor, chunk_size, wait)
        except LeaseHeld:
            _drop_unstarted(run)
            raise
    except (LeaseHeld, AnalysisError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if executor is not None:
            executor.close()
    if run.status == Run.Status.CANCELLED:
        raise click.ClickException(f"Run {run.id} was cancelled at {run.stage}.")
    total = sum(sum(t.values()) for t in run.timings.values())
    console.print(f"[green]Analysed {name}[/green] (run {run.id}, {total:.1f} s).")
    if llm is not None:
        _print_llm_use(run)
    console.print(f"Next: `heard themes {name}`, `heard show {name}`, `heard export {name}`.")


def _ray_executor(address: str, workers: int | None, embedder: str):
    """A RayExecutor for --ray, or a click error saying what is missing."""
    from heard.scale.ray_executor import RayExecutor, RayUnavailable

    try:
        executor = RayExecutor(address, workers=workers, embedder=embedder)
    except RayUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"Ray ({executor.address}): {executor.workers} worker(s).")
    return executor


def _drop_unstarted(run) -> None:
    """A run this command created but never started (another run held the lease): cancel it,
    so no worker picks it up later."""
    from django.utils import timezone

    from heard.store.models import Run

    Run.objects.filter(pk=run.pk, status=Run.Status.PENDING, started_at__isnull=True).update(
        status=Run.Status.CANCELLED, finished_at=timezone.now(),
        error="not started: another run was analysing the consultation",
    )


def _run_with_progress(run, executor, chunk_size, wait: float = 0.0):
    from heard.cli.common import progress_bar
    from heard.pipeline.analysis import AnalysisError, run_analysis

    with progress_bar() as bar:
        task = bar.add_task("analyse", total=100)

        def report(stage: str, fraction: float) -> None:
            bar.update(task, completed=round(fraction * 100), description=stage)
            if not sys.stderr.isatty():
                click.echo(f"  {stage} ({fraction:.0%})", err=True)

        try:
            return run_analysis(run, progress=report, executor=executor, chunk_size=chunk_size,
                                lease_wait=wait)
        except AnalysisError as exc:
            raise click.ClickException(str(exc)) from None


def _llm_setup(llm_name, llm_config, estimate):
    """The LLM config for --llm (None without it)."""
    if llm_name is None:
        if estimate or llm_config:
            raise click.ClickException("--estimate and --llm-config need --llm NAME.")
        return None
    from heard.cli.llm import resolve_or_fail

    return resolve_or_fail(llm_name, llm_config)


def _llm_stages(text: str) -> tuple[str, ...]:
    from heard.pipeline.llm_stage import LLMStageError, check_stages

    try:
        return check_stages([s.strip() for s in text.split(",") if s.strip()])
    except LLMStageError as exc:
        raise click.ClickException(f"--llm-stages: {exc}") from None


def _print_estimate(consultation, question, config, stages) -> None:
    from heard.pipeline.llm_stage import estimate_questions, options_for

    questions = consultation.questions.filter(kind="open")
    if question:
        questions = questions.filter(key=question)
    est = estimate_questions(list(questions), config, options_for(stages, config))
    console.print(f"Estimate for {config.describe()} (no LLM called):")
    console.print(f"  calls              {est.calls}")
    console.print(f"  prompt tokens      {est.prompt_tokens}")
    console.print(f"  completion tokens  {est.completion_tokens}")
    console.print(f"  cost               {est.cost:.4f} {est.currency}")
    for note in est.notes:
        console.print(f"  [dim]{note}[/dim]")


def _print_llm_use(run) -> None:
    from heard.results import llm_use

    use = llm_use(run)
    if use is None:
        return
    failures = sum(len(q.failures) for q in use.questions)
    console.print(
        f"LLM {use.name} ({', '.join(use.stages)}): {use.calls} calls, {use.prompt_tokens} "
        f"prompt + {use.completion_tokens} completion tokens, cost {use.cost_text}; "
        f"{use.sent} of {use.responses} responses sent ({use.share:.0%})"
        + (f"; {failures} item(s) kept their offline result" if failures else "")
        + f". Details: `heard llm ledger {run.consultation.name}`."
    )


@click.command("themes")
@click.argument("name")
@click.option("--question", "-q", help="Only this question.")
@click.option("--quotes/--no-quotes", default=False, help="Show the quotes of each theme.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def themes_cmd(name, question, quotes, as_json):
    """Show the themes of each open question, with counts and shares.

    \b
    Example:
      heard themes demo --question q2 --quotes
    """
    open_store()
    from rich.table import Table

    from heard.results import question_results

    consultation = get_consultation(name)
    questions = consultation.questions.filter(kind="open")
    if question:
        questions = questions.filter(pk=get_question(consultation, question, "open").pk)
    out = []
    for q in questions:
        result = question_results(q)
        out.append(_themes_json(result))
        if as_json:
            continue
        table = Table(title=shown(f"{q.key}: {q.text[:90]}"), title_justify="left")
        table.add_column("Theme")
        table.add_column("Responses", justify="right")
        table.add_column("Share", justify="right")
        for row in result.themes:
            indent = "  " * row.level
            table.add_row(f"{indent}{shown(row.label)}", str(row.count), f"{row.share:.0%}",
                          style="" if row.level else "bold")
            if quotes:
                for quote in row.quotes[:3]:
                    table.add_row(f"{indent}    [dim]“{shown(quote['text'])}”[/dim]", "", "")
        o = result.outcomes
        if o.other:
            table.add_row("Other", str(o.other), f"{result.other_share:.0%}")
        for key, label in (("empty", "No substantive answer"), ("unprocessable", "Unprocessable"),
                           ("pending", "Not analysed yet")):
            if o.get(key):
                table.add_row(f"[dim]{label}[/dim]", str(o.get(key)), "")
        if not result.themes:
            table.add_row("[dim]No themes yet: run `heard analyse`[/dim]", "", "")
        table.caption = (f"Shares are of the {result.base} responses with a substantive answer "
                         f"(of {result.total}).")
        console.print(table)
    if as_json:
        print_json(out)


def _themes_json(result) -> dict:
    """A question's themes and outcomes as JSON-ready data (the results model, unformatted)."""
    return {
        "question": result.key,
        "text": result.text,
        "responses": result.total,
        "base": result.base,
        "outcomes": result.outcomes.as_dict(),
        "other_share": result.other_share,
        "themes": [
            {"key": t.key, "label": t.label, "description": t.description, "level": t.level,
             "parent": t.parent, "count": t.count, "share": t.share, "stance": t.stance,
             "evidence_rich": t.evidence_rich, "quotes": t.quotes}
            for t in result.themes
        ],
    }


@click.command("show")
@click.argument("name")
@click.option("--question", "-q", help="Only this question.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(name, question, as_json):
    """Summarise the analysis: outcomes, stance, evidence and campaigns per question.

    \b
    Example:
      heard show demo
    """
    open_store()
    from rich.table import Table

    from heard.results import consultation_results, llm_use
    from heard.store.models import Run

    consultation = get_consultation(name)
    if question:
        get_question(consultation, question)
    try:
        results = consultation_results(consultation, question)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    summaries = [_summary_json(q) for q in results.open] + [
        {"id": c.key, "text": c.text, "type": "closed", "responses": c.total,
         "outcomes": c.outcomes.as_dict(), "answered": c.answered, "options": dict(c.chosen)}
        for c in results.closed
    ]
    order = {key: i for i, key in enumerate(results.order)}
    summaries.sort(key=lambda s: order.get(s["id"], 0))
    run = Run.objects.filter(consultation=consultation, kind="analyse").first()
    if as_json:
        print_json(
            {
                "consultation": consultation.name,
                "run": None
                if run is None
                else {
                    "id": run.id,
                    "status": run.status,
                    "params": run.params,
                    "versions": run.versions,
                    "timings": run.timings,
                    "llm": use.as_dict() if (use := llm_use(run)) else None,
                },
                "questions": summaries,
            }
        )
        return
    table = Table(title=f"{consultation.name}: analysis", title_justify="left")
    for col in (
        "Question",
        "Type",
        "Responses",
        "Mapped",
        "Other",
        "No substantive answer",
        "Unprocessable",
        "Stance",
        "Evidence-rich",
        "Campaigns",
    ):
        table.add_column(col)
    for s in summaries:
        o = s["outcomes"]
        stance = ", ".join(f"{k} {v}" for k, v in sorted(s.get("stance", {}).items()))
        campaigns = s.get("campaigns", [])
        sizes = ", ".join(str(c["size"]) for c in campaigns[:5])
        table.add_row(
            shown(s["id"]),
            s["type"],
            str(s["responses"]),
            str(o["mapped"]),
            str(o["other"]),
            str(o["empty"]),
            str(o["unprocessable"]),
            shown(stance),
            str(s["evidence_rich"]) if s["type"] == "open" else "",
            f"{len(campaigns)} ({sizes})" if campaigns else "",
        )
    console.print(table)
    for s in summaries:
        if s.get("summary"):
            console.print(f"[bold]{shown(s['id'])}[/bold]: " + shown(" ".join(s["summary"])),
                          highlight=False)
    if run is not None:
        console.print(
            f"Last run {run.id}: {run.status}, seed {run.seed}, "
            f"embedder {run.versions.get('embedder', '?')}."
        )
        use = llm_use(run)
        if use is not None:
            console.print(
                f"LLM {use.name}: {use.calls} calls, {use.prompt_tokens} prompt + "
                f"{use.completion_tokens} completion tokens, cost {use.cost_text}; "
                f"responses sent: {use.sent_text}."
            )


def _summary_json(q) -> dict:
    """An open question's outcomes, stance, evidence and campaigns (the results model)."""
    from heard.results import plain_summary

    return {
        "id": q.key,
        "text": q.text,
        "type": q.kind,
        "responses": q.total,
        "base": q.base,
        "outcomes": q.outcomes.as_dict(),
        "stance": q.stance,
        "evidence_rich": q.evidence_rich,
        "themes": len(q.themes),
        "campaigns": [{"kind": c.kind, "size": c.size, "canonical_text": c.text}
                      for c in q.campaigns],
        "duplicate_groups": q.duplicate_groups,
        "in_duplicate_groups": q.in_duplicate_groups,
        "summary": [sentence.text for sentence in plain_summary(q)],
    }


@click.command("export")
@click.argument("name")
@click.option(
    "--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: NAME-responses.EXTENSION).",
)
@click.option("--question", "-q", help="Only this question.")
@click.option("--redact", is_flag=True, help="Replace personal details in response text "
              "(e-mails, phone numbers, postcodes, NI and card numbers, names) by placeholders.")
def export_cmd(name, fmt, output, question, redact):
    """Write every response with its themes, stance, evidence, campaign and outcome.

    Cells that a spreadsheet would run as formulas (starting = + - @) are neutralised.
    JSON is written as JSON Lines (one response per line). With --redact, the response text
    and evidence reasons go through the same PII redaction as LLM calls and reports.

    \b
    Example:
      heard export demo --format xlsx -o demo.xlsx
    """
    open_store()
    from heard.results import export_columns, export_rows

    consultation = get_consultation(name)
    if question:
        get_question(consultation, question)
    export_format = EXPORT_FORMATS[fmt]
    output = output or Path(export_format.file_name(f"{name}-responses"))
    if not output.parent.is_dir():
        raise click.ClickException(terminal_safe(
            f"Cannot write {output}: the folder {output.parent} does not exist. Create it "
            "first, or choose another path with -o."))
    try:
        columns = export_columns(consultation)
        count = write_export(export_format, output, [name for name, _ in columns],
                             export_rows(consultation, question), redact=redact,
                             dictionary=columns)
    except OSError as exc:
        raise click.ClickException(terminal_safe(
            f"Cannot write {output}: {exc.strerror or exc}.")) from None
    console.print(f"Wrote {count} responses to {shown(output)}.")


@click.command("suggest-review")
@click.argument("name")
@click.option("--question", "-q", required=True, help="The open question to review.")
@click.option("-n", "count", default=20, show_default=True, help="How many to suggest.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def suggest_review_cmd(name, question, count, as_json):
    """List the responses whose labels would most improve the mapping (active learning).

    Label them in the web app (or an --examples file), then run `heard analyse` again.

    \b
    Example:
      heard suggest-review demo --question q2 -n 10
    """
    open_store()
    from heard.pipeline.review import suggest_review

    consultation = get_consultation(name)
    get_question(consultation, question, "open")
    try:
        rows = suggest_review(consultation, question, count)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title=shown(f"Review next: {question}"), title_justify="left")
    table.add_column("Response")
    table.add_column("Current themes")
    table.add_column("Text")
    for row in rows:
        table.add_row(str(row["response_id"]), shown(", ".join(row["themes"])) or "—",
                      shown(row["text"][:160]))
    console.print(table)
