"""Shared code of the bring-your-own-weights exporters (tools/export/*.py)."""
