"""Stages and runs: drives the analysis core over the store."""
