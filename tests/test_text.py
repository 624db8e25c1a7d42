from heard.analysis.text import clean_text, content_hash, normalise_text


def test_normalise_text():
    assert normalise_text("  Hello,   WORLD!!  ") == "hello, world"
    assert normalise_text("“Quoted” — text…") == 'quoted" — text'
    assert normalise_text("!!!") == ""
    assert normalise_text("") == ""
    assert normalise_text("Café\u00a0au lait.") == "café au lait"


def test_exact_copies_share_a_hash():
    assert content_hash("Ban the ads!") == content_hash("  ban THE ads ")
    assert content_hash("Ban the ads") != content_hash("Keep the ads")
    assert len(content_hash("x")) == 40


def test_normalise_handles_long_punctuation_runs():
    """Its time is linear in the run's length: measured in benchmarks/bench_core.py."""
    out = normalise_text("word " + "!" * 200_000 + " end")
    assert out.startswith("word !") and out.endswith("! end")


def test_clean_text():
    assert clean_text(None) == ""
    assert clean_text(" a\r\nb\rc\x00 ") == "a\nb\nc"
