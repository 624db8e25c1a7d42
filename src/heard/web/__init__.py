"""The analyst web app (Django views and templates)."""
