"""The demo consultation behind `heard sample-data`: a generator and its phrase tables.

The tables are data (``phrases.json``); :mod:`heard.demo.generator` composes realistic
answers, with gold labels, from them.
"""

from heard.demo.generator import (
    OUTPUT_FILES,
    QUESTIONS,
    SampleOptions,
    SampleSummary,
    iter_respondents,
    write_sample_consultation,
)

__all__ = [
    "OUTPUT_FILES",
    "QUESTIONS",
    "SampleOptions",
    "SampleSummary",
    "iter_respondents",
    "write_sample_consultation",
]
