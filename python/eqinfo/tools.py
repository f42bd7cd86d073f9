"""The C++ command-line tools as console scripts of the package: eqinfo-encode, eqinfo-decode,
eqinfo-build-static-model, eqinfo-m1-tables.

They are the same code as the CMake-built tools (examples/tools/*.hpp), run in this process by
the extension (`_eqinfo_core.run_tool`), so flags, messages, exit statuses and token files are
identical by construction; docs/formats.md describes them. The only thing added here is where the
bundled models are: EQINFO_MODELS_DIR is pointed at the package's own models (eqinfo.resources)
unless the user set it, so `--method equalinfo` finds M1 in an installed wheel with no checkout.
"""
from __future__ import annotations

import os
import sys

from eqinfo import resources


def run_tool(name: str, args: list[str] | None = None) -> int:
    """Runs the C++ tool `name` with argv[1:] = args (default: this process's); its exit status."""
    try:
        import _eqinfo_core
    except ImportError:
        print(f"{name}: the eqinfo C++ extension (_eqinfo_core) is not installed: pip install eqinfo", file=sys.stderr)
        return 1
    if not os.environ.get("EQINFO_MODELS_DIR"):
        try:
            os.environ["EQINFO_MODELS_DIR"] = str(resources.models_dir())
        except FileNotFoundError:
            pass  # the tool itself says what is missing, and only if it needs a model
    sys.stdout.flush()
    sys.stderr.flush()
    return _eqinfo_core.run_tool(name, sys.argv[1:] if args is None else list(args))


def encode() -> int:
    return run_tool("eqinfo-encode")


def decode() -> int:
    return run_tool("eqinfo-decode")


def build_static_model() -> int:
    return run_tool("eqinfo-build-static-model")


def m1_tables() -> int:
    return run_tool("eqinfo-m1-tables")
