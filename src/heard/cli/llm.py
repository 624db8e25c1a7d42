"""`heard llm check` and `heard llm ledger`: test a provider, and show what a run spent."""

from __future__ import annotations

from pathlib import Path

import click

from heard.cli.common import console, print_json

LLM_HELP = (
    "PROVIDER:MODEL (openai:gpt-4o-mini, azure:DEPLOYMENT, anthropic:MODEL, "
    "compatible:MODEL) or a profile from $HEARD_HOME/llm.toml."
)


def resolve_or_fail(name: str, config_path: Path | None):
    """The LLM config for NAME, or a click error that says what to set."""
    from heard.llm.config import LLMConfigError, resolve_llm

    try:
        return resolve_llm(name, config_path=config_path)
    except LLMConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("llm")
def llm_group() -> None:
    """Optional LLM: check a provider, show what a run spent.

    \b
    Examples:
      heard llm check --llm openai:gpt-4o-mini
      OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_API_KEY=x \\
        heard llm check --llm openai:llama3.1
      heard llm ledger demo
    """


@llm_group.command("check")
@click.option("--llm", "llm_name", required=True, help=LLM_HELP)
@click.option("--llm-config", type=click.Path(dir_okay=False, path_type=Path),
              help="LLM config file (default: $HEARD_HOME/llm.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_cmd(llm_name: str, llm_config: Path | None, as_json: bool) -> None:
    """Test the connection and which structured-output modes the model supports."""
    from heard.llm.providers import LLMError, check_modes, make_client

    config = resolve_or_fail(llm_name, llm_config)
    try:
        client = make_client(config)
    except LLMError as exc:
        raise click.ClickException(str(exc)) from None
    results = check_modes(client)
    usable = next((r.mode for r in results if r.ok), None)
    if as_json:
        print_json({
            "llm": config.describe(),
            "modes": [r.__dict__ for r in results],
            "usable_mode": usable,
            "ledger": client.ledger.totals(),
        })
    else:
        console.print(f"LLM: {config.describe()}")
        for r in results:
            mark = "[green]ok[/green]" if r.ok else "[red]no[/red]"
            console.print(f"  {r.mode:<12} {mark}  {r.detail}")
        t = client.ledger.totals()
        console.print(f"Used {t['prompt_tokens']} prompt + {t['completion_tokens']} completion "
                      f"tokens in {t['calls']} call(s).")
    if usable is None:
        raise click.ClickException("No structured-output mode works with this model.")
    if not as_json:
        console.print(f"[green]Ready[/green]: Heard will use {usable}.")


@llm_group.command("ledger")
@click.argument("name")
@click.option("--run", "run_id", type=int, help="A run id (default: the latest analysis).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ledger_cmd(name: str, run_id: int | None, as_json: bool) -> None:
    """Tokens, cost, outcomes, failures and flagged responses of a run's LLM stage."""
    from heard.cli.common import get_consultation, open_store

    open_store()
    from heard.results import llm_use
    from heard.store.models import Run

    consultation = get_consultation(name)
    runs = Run.objects.filter(consultation=consultation, kind="analyse")
    run = runs.filter(pk=run_id).first() if run_id else runs.first()
    if run is None:
        raise click.ClickException(f"No analysis run for {name}.")
    use = llm_use(run)
    if as_json:
        print_json({"run": run.id, "llm": use.as_dict() if use else None})
        return
    if use is None:
        console.print(f"Run {run.id} used no LLM.")
        return
    console.print(f"Run {run.id}: {use.name}, stages {', '.join(use.stages)}.")
    for q in use.questions:
        console.print(
            f"{q.key}: {q.calls} calls, {q.prompt_tokens} prompt + {q.completion_tokens} "
            f"completion tokens, {q.cost_text}; responses sent: {q.sent_text}"
        )
        if q.outcomes:
            console.print("  outcomes: " + ", ".join(
                f"{k} {v}" for k, v in sorted(q.outcomes.items())))
        if q.redaction:
            console.print("  PII redacted: " + ", ".join(
                f"{k} {v}" for k, v in sorted(q.redaction.items())))
        if q.injection_flags:
            ids = ", ".join(str(f["id"]) for f in q.injection_flags[:20])
            console.print(f"  flagged as injection attempts: {ids}")
        for f in q.failures[:20]:
            console.print(f"  [yellow]kept offline[/yellow] {f['stage']} {f['id']}: {f['reason']}")
    console.print(f"Total: {use.calls} calls, {use.prompt_tokens} prompt + "
                  f"{use.completion_tokens} completion tokens, cost {use.cost_text}; "
                  f"responses sent: {use.sent_text}.")
