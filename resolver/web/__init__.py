"""The HTTP edge: translates requests into use-case calls and outcomes into pages and JSON."""
