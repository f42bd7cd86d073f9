"""The console scripts of `pip install .`, and which extra each optional module comes from.

The core (`pip install .`) depends on numpy only. Everything else is an extra of pyproject.toml:

    [train]          torch (the pinned CPU build, torch==2.13.0), safetensors, tqdm: M1 and M2 training
    [experiment]     matplotlib, rapidfuzz, tqdm, sentencepiece: eqinfo-experiment's plots,
                     edit distances, progress bars and its SentencePiece method
    [sentencepiece]  sentencepiece: the `sentencepiece` method and eqinfo-train-sentencepiece
    [hf]             transformers, datasets
    [cluster]        ray

Every console script runs through `run`, so that a missing optional module is one line saying
which extra installs it (exit status 1) instead of a ModuleNotFoundError traceback:

    eqinfo-train-m1: torch is not installed: pip install 'eqinfo[train]'

`require(module, feature)` raises the same message from library code that needs an extra.
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable

# top-level module -> the extra that installs it
EXTRAS: dict[str, str] = {
    "torch": "train",
    "safetensors": "train",
    "tqdm": "experiment",
    "matplotlib": "experiment",
    "rapidfuzz": "experiment",
    "sentencepiece": "sentencepiece",
    "transformers": "hf",
    "datasets": "hf",
    "ray": "cluster",
}


def install_hint(module: str, needs: tuple[str, ...] = ()) -> str | None:
    """"pip install 'eqinfo[extra]'" for an optional module (top-level name), None for others.
    needs: every extra of the command, named together when the module's is one of them."""
    extra = EXTRAS.get(module.split(".")[0])
    if not extra:
        return None
    extras = ",".join(needs) if extra in needs else extra
    return f"pip install 'eqinfo[{extras}]'"


def missing_extra(e: BaseException, needs: tuple[str, ...] = ()) -> str | None:
    """The one-line message for a ModuleNotFoundError of an optional module, else None."""
    if not isinstance(e, ModuleNotFoundError) or not e.name:
        return None
    hint = install_hint(e.name, needs)
    return f"{e.name.split('.')[0]} is not installed: {hint}" if hint else None


def require(module: str, feature: str):
    """import_module(module), or ModuleNotFoundError naming the feature and the extra."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        hint = install_hint(module) or f"pip install {module.split('.')[0]}"
        raise ModuleNotFoundError(f"{feature} needs {module.split('.')[0]}: {hint}",
                                  name=e.name) from e


def run(prog: str) -> Callable[[], int]:
    """The console-script function of SCRIPTS[prog]: imports and calls it; a missing optional
    module (at import or while running) is one line on stderr and exit status 1."""
    target, needs = SCRIPTS[prog]

    def entry() -> int:
        module, func = target.split(":")
        try:
            result = getattr(importlib.import_module(module), func)()
        except ModuleNotFoundError as e:
            msg = missing_extra(e, needs)
            if msg is None:
                raise
            print(f"{prog}: {msg}", file=sys.stderr)
            return 1
        return result if isinstance(result, int) else 0
    entry.__name__ = entry.__qualname__ = prog.replace("-", "_")
    entry.__doc__ = f"The `{prog}` command: {target}."
    return entry


# name in [project.scripts] -> (the function it runs, the extras it needs); the core ones need
# none (python/tests/test_packaging.py checks pyproject.toml against this table)
SCRIPTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # the C++ tools, run in-process by the extension (eqinfo.tools)
    "eqinfo-encode": ("eqinfo.tools:encode", ()),
    "eqinfo-decode": ("eqinfo.tools:decode", ()),
    "eqinfo-build-static-model": ("eqinfo.tools:build_static_model", ()),
    "eqinfo-m1-tables": ("eqinfo.tools:m1_tables", ()),
    "eqinfo-compress": ("eqinfo.compress:main", ()),
    "eqinfo-export-bin": ("eqinfo.flat_tokens:main", ()),
    "eqinfo-train-sentencepiece": ("eqinfo.sentencepiece_method:main", ("sentencepiece",)),
    "eqinfo-train-m1": ("eqinfo.m1.train:main", ("train",)),
    "eqinfo-export-m1": ("eqinfo.m1.export:main", ("train",)),
    "eqinfo-train-m2": ("eqinfo.m2.train:main", ("train",)),
    "eqinfo-experiment": ("eqinfo.experiment.run:main", ("train", "experiment")),
    "eqinfo-generate": ("eqinfo.generate:main", ("train",)),
}

encode = run("eqinfo-encode")
decode = run("eqinfo-decode")
build_static_model = run("eqinfo-build-static-model")
m1_tables = run("eqinfo-m1-tables")
compress = run("eqinfo-compress")
export_bin = run("eqinfo-export-bin")
train_sentencepiece = run("eqinfo-train-sentencepiece")
train_m1 = run("eqinfo-train-m1")
export_m1 = run("eqinfo-export-m1")
train_m2 = run("eqinfo-train-m2")
experiment = run("eqinfo-experiment")
generate = run("eqinfo-generate")
