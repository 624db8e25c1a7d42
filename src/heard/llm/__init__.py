"""LLM providers, prompts, budget and redaction (optional)."""
