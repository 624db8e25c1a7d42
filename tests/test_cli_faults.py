"""Faults of the command line found in the hardening trial, each reproduced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from heard.cli import main
from heard.cli.common import terminal_safe
from heard.io.writers import neutralise_cell, write_csv, write_xlsx

HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\x1b]8;;http://x\x1b\\link\u202e"


def test_terminal_safe_shows_controls_instead_of_running_them():
    shown = terminal_safe(HOSTILE + "\x9b31m")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "␛]0;pwned␇" in shown and "<U+202E>" in shown and "<U+009B>" in shown
    assert terminal_safe("line one\nline two") == "line one\nline two"
    assert terminal_safe("café ünïcode") == "café ünïcode"


@pytest.mark.parametrize("cell", ["\x01=cmd|' /C calc'!A0", "\ufeff=HYPERLINK(\"x\")",
                                  "\u200b@SUM(A1)", "\x00+1", "  \t-2+3", "\r\n=1"])
def test_formulas_behind_control_or_invisible_characters_are_neutralised(cell, tmp_path):
    assert neutralise_cell(cell) == "'" + cell
    write_csv(tmp_path / "out.csv", ["text"], [{"text": cell}])
    written = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert "'" in written[1][:2]
    write_xlsx(tmp_path / "out.xlsx", ["text"], [{"text": cell}])
    from openpyxl import load_workbook

    value = load_workbook(tmp_path / "out.xlsx").active["A2"].value
    assert value.startswith("'")


def test_plain_text_is_not_changed():
    for cell in ("a = b", "Yes", "£5 - too much", "", "   "):
        assert neutralise_cell(cell) == cell


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def imported(tmp_path, heard_home, monkeypatch):
    from django.conf import settings

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    table = tmp_path / "answers.csv"
    table.write_text('id,Why?\n1,"Because ' + HOSTILE + '"\n2,It costs too much\n',
                     encoding="utf-8")
    code, output = run("import", str(table), "-c", "town")
    assert code == 0, output
    return tmp_path


@pytest.mark.django_db(transaction=True)
def test_dry_run_preview_prints_no_escape_sequences(tmp_path, heard_home, monkeypatch):
    from django.conf import settings

    monkeypatch.setattr(settings, "HEARD_HOME", heard_home)
    table = tmp_path / "answers.csv"
    table.write_text(f'id,Why?\x1b[31m\u202e\n1,"Because {HOSTILE}"\n2,no\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(table), "-c", "t", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\u202e" not in result.output
    assert "␛" in result.output


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", ["themes", "show", "export"])
def test_a_missing_question_is_a_clear_error(imported, command):
    code, output = run(command, "town", "--question", "q9")
    assert code != 0
    assert "'town' has no" in output and "'q9'" in output and "heard status town" in output


@pytest.mark.django_db(transaction=True)
def test_export_into_a_missing_folder_is_a_clear_error(imported):
    target = imported / "no" / "such" / "folder" / "out.csv"
    code, output = run("export", "town", "-o", str(target))
    assert code != 0
    assert "does not exist" in output and "-o" in output
    assert not target.parent.exists()


@pytest.mark.django_db(transaction=True)
def test_export_still_writes(imported):
    code, output = run("export", "town", "-o", str(imported / "out.csv"))
    assert code == 0, output
    assert (imported / "out.csv").read_bytes().count(b"\n") == 3


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_serve_refuses_a_port_out_of_range(port):
    result = CliRunner().invoke(main, ["serve", "--port", port])
    assert result.exit_code == 2
    assert "1<=x<=65535" in result.output.replace(" ", "")


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "HEARD_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_delete_removes_the_uploads_and_shrinks_the_store(tmp_path, heard_home):
    """Real files, through the installed command: the raw upload goes and the file shrinks."""
    heard_command = str(Path(sys.executable).with_name("heard"))
    env = _env(heard_home)
    marker = "Zanzibarine-Quokka"
    folders = {}
    for name in ("keep", "gone"):
        folder = heard_home / "uploads" / f"upload-{name}"
        folder.mkdir(parents=True)
        word = marker if name == "gone" else "Plain"
        rows = [f"{name}-{n},{word} remark number {n} " + "with padding " * 20
                for n in range(4000)]
        (folder / "answers.csv").write_text("respondent_id,answer\n" + "\n".join(rows) + "\n",
                                            encoding="utf-8")
        folders[name] = folder
        done = subprocess.run([heard_command, "import", str(folder / "answers.csv"), "-c",
                               name], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    store = heard_home / "heard.sqlite3"
    wal = store.with_name("heard.sqlite3-wal")

    def size() -> int:
        return store.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    before = size()
    deleted = subprocess.run([heard_command, "delete", "gone", "--yes"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert deleted.returncode == 0, deleted.stderr
    assert "1 uploads removed" in " ".join(deleted.stdout.split())
    assert not folders["gone"].exists()
    assert (folders["keep"] / "answers.csv").is_file()  # another consultation's upload stays
    left = b"".join(p.read_bytes() for p in heard_home.rglob("*") if p.is_file())
    assert marker.encode() not in left
    assert b"Plain remark number 7" in left
    assert size() < before * 0.7  # the deleted half no longer takes room
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.django_db(transaction=True)
def test_a_bad_codebook_stops_analyse_before_any_run_is_recorded(imported):
    from heard.store.models import Run

    codebook = imported / "codebook.csv"
    codebook.write_text("question_id,theme,label\nq9,cost,Cost\n", encoding="utf-8")
    code, output = run("analyse", "town", "--codebook", str(codebook))
    assert code != 0
    assert "row 2, column question_id: unknown question 'q9'" in output
    assert not Run.objects.filter(kind="analyse").exists()


@pytest.mark.django_db(transaction=True)
def test_a_codebook_theme_cannot_be_keyed_none(imported):
    codebook = imported / "codebook.csv"
    codebook.write_text("question_id,theme,label\nWhy?,cost,Cost\nWhy?,None,Nothing\n",
                        encoding="utf-8")
    code, output = run("analyse", "town", "--codebook", str(codebook))
    assert code != 0
    assert "row 3, column theme: 'none' is kept for answers about none of the themes" in output
