"""The ``heard`` command. Each command family lives in its own module and loads lazily."""

from __future__ import annotations

import importlib
import importlib.util

import click

from heard import __version__

# command name -> "module:function" inside heard.cli
COMMANDS: dict[str, str] = {
    "sample-data": "sample:sample_data",
    "import": "importing:import_cmd",
    "status": "importing:status_cmd",
    "delete": "importing:delete_cmd",
    "analyse": "analysis:analyse_cmd",
    "themes": "analysis:themes_cmd",
    "show": "analysis:show_cmd",
    "export": "analysis:export_cmd",
    "suggest-review": "analysis:suggest_review_cmd",
    "evaluate": "evaluation:evaluate_cmd",
    "serve": "web:serve_cmd",
    "user": "web:user_cmd",
    "worker": "web:worker_cmd",
    "report": "report:report_cmd",
    "llm": "llm:llm_group",
}

HELP = """Heard reads every consultation response and reports fairly what people said.

\b
A first session:
  heard sample-data demo-data --responses 2000    # write a demo consultation
  heard import demo-data --consultation demo --dry-run   # preview the columns
  heard import demo-data --consultation demo      # load it into the store
  heard status demo                               # counts per question
  heard analyse demo                              # themes, mapping, stance, evidence
  heard themes demo                               # read the themes

Data lives in $HEARD_HOME (default ~/.local/share/heard); set DATABASE_URL to use PostgreSQL.
Run `heard COMMAND --help` for each command's options and examples.
"""


class LazyGroup(click.Group):
    """Import a command's module only when that command runs (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"heard.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"heard.cli.{module_name}":
                return None
            raise
        return getattr(module, attr, None)

    @staticmethod
    def _available(name: str) -> bool:
        module_name = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(f"heard.cli.{module_name}") is not None


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="heard")
def main() -> None:
    pass
