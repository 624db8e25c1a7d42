"""Privacy: PII redaction shared by the LLM stage, reports and exports (offline, pattern based)."""

from heard.privacy.redaction import KINDS, Redacted, luhn_ok, redact, redact_many, redact_rows

__all__ = ["KINDS", "Redacted", "luhn_ok", "redact", "redact_many", "redact_rows"]
