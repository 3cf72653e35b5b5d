"""The ``vodstack`` command line (Typer): thin wrappers that call services and format output."""

from vodstack.cli.main import app, main

__all__ = ["app", "main"]
