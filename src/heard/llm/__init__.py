"""LLM providers, prompts and budget (optional); redaction lives in `heard.privacy`."""
