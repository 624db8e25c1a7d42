"""`heard evaluate`: score the analysis core on a labelled folder in the evaluation layout.

- :mod:`heard.evaluation.dataset` reads and validates the layout and its gold files.
- :mod:`heard.evaluation.modes` runs one mode (discover, codebook, fewshot, stance,
  evidence, campaigns, stability) and returns an :class:`~heard.evaluation.report.EvalResult`.
- :mod:`heard.evaluation.report` prints the table and writes the JSON document.

This package calls ``heard.analysis`` only; it never opens the store.
"""

from __future__ import annotations

from heard.evaluation.dataset import DatasetError, EvalDataset, load_dataset
from heard.evaluation.modes import MODES, EvalOptions, evaluate
from heard.evaluation.report import EvalResult

__all__ = [
    "MODES",
    "DatasetError",
    "EvalDataset",
    "EvalOptions",
    "EvalResult",
    "evaluate",
    "load_dataset",
]
