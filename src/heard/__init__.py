"""Heard: open, self-hostable analysis of public consultation responses.

The analysis works on plain Python data, without a store or a web app::

    from heard import analyse_texts

    result = analyse_texts(answers, question="Do you agree with the proposal?")
    for theme in result.themes:
        print(theme.key, theme.label)

See docs/python.md. Names load on first use, so ``import heard`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "analyse_texts": "heard.analysis.analyse",
    "QuestionResult": "heard.analysis.analyse",
    "ResponseResult": "heard.analysis.analyse",
    "codebook_theme": "heard.analysis.analyse",
    "ThemeSpec": "heard.analysis.clustering",
    "ThemeDiscoverer": "heard.analysis.clustering",
    "ThemeMapper": "heard.analysis.mapping",
    "StanceClassifier": "heard.analysis.stance",
    "detect_evidence": "heard.analysis.evidence",
    "find_groups": "heard.analysis.duplicates",
    "get_embedder": "heard.analysis.embeddings",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'heard' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
