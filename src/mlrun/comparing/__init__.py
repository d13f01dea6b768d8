"""Comparing runs side by side: the table of their parameters and metrics
(`table.py`), its text, JSON and CSV forms (`render.py`), and which runs to compare
(`select.py`). `mlrun runs compare` and `mlrun report` are built on it."""
