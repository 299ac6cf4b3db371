"""Shared pytest configuration: the lab fixtures (tests/lab/pytest_plugin.py)."""

pytest_plugins = ["tests.lab.pytest_plugin"]
