"""Where settings come from: the file, and the ``VODSTACK_*`` variables that are not settings."""

from __future__ import annotations

import os
from pathlib import Path

#: ``VODSTACK_*`` variables that are not settings: ``config check`` and the servers accept them.
NON_SETTINGS_VARIABLES: dict[str, str] = {
    "VODSTACK_CONFIG": "path of the settings file (default: vodstack.toml in the working dir)",
    "VODSTACK_REDIRECT_TO": "set by `vodstack redirect` for its server process",
    "VODSTACK_TEST_PG": "tests: PostgreSQL admin URL",
    "VODSTACK_TEST_REDIS": "tests: Redis URL",
    "VODSTACK_API_FUZZ_EXAMPLES": "tests: examples per endpoint of the API fuzzer",
    "VODSTACK_BENCH_REDIS": "benchmarks: Redis URL",
    "VODSTACK_SERVICE": "deploy/entrypoint.sh: which process a container runs",
    "VODSTACK_API_URL": "the CLI's remote mode: the server it talks to (like --url)",
    "VODSTACK_API_KEY": "the CLI's remote mode: its API key (like --api-key)",
}


def config_file() -> Path:
    """The settings file: ``VODSTACK_CONFIG``, else ``vodstack.toml`` in the working directory."""
    return Path(os.environ.get("VODSTACK_CONFIG") or "vodstack.toml")
