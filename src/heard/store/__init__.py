"""The one data model (Django ORM), usable from the CLI without a web server."""
