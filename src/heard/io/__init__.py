"""Readers for consultation exports, writers and reports."""
