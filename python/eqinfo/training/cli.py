"""Command line <-> typed config: one flag per config field, parsed into the config itself.

`--config NAME` (a named preset of the trainer, e.g. M1's RUNS) or `--config FILE` (a config's
to_dict as JSON, e.g. the experiment's train_config.json) gives the values; flags on the command
line override them. A field without a default is a required flag
unless the file gives it. Errors of the config's own checks (__post_init__) are reported as
usage errors, like argparse's.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import TypeVar

from .config import DictConfig

C = TypeVar("C", bound=DictConfig)


def _flag_type(annotation) -> type:
    """int | None -> int; bool, int, float, str as they are."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"config fields take one type or that type | None, not {annotation}")
        return args[0]
    return annotation


def _help_order(cls: type, given: dict) -> list[dataclasses.Field]:
    """Required flags first, then the config's own, then those it shares with its bases."""
    inherited = {f.name for base in cls.__mro__[1:] if dataclasses.is_dataclass(base)
                 for f in dataclasses.fields(base)}
    return sorted(dataclasses.fields(cls), key=lambda f: (
        f.default is not dataclasses.MISSING or f.name in given, f.name in inherited))


def build_parser(cls: type[C], description: str, given: dict | None = None,
                 presets: dict[str, C] | None = None) -> argparse.ArgumentParser:
    """A parser with `--config` and one flag per field of `cls`; `given` replaces defaults."""
    given = given or {}
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    names = f"a preset ({', '.join(sorted(presets))}) or " if presets else ""
    p.add_argument("--config", default=None,
                   help=f"{names}a JSON file of the config's fields; flags override it")
    hints = typing.get_type_hints(cls)
    for f in _help_order(cls, given):
        flag = "--" + f.name.replace("_", "-")
        kind = _flag_type(hints[f.name])
        default = given.get(f.name, f.default)
        required = default is dataclasses.MISSING
        kw = dict(default=None if required else default, help=f.metadata.get("help"))
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        else:
            p.add_argument(flag, type=kind, required=required, **kw)
    return p


def _given(config: str | None, presets: dict[str, DictConfig]) -> dict:
    if config is None:
        return {}
    if config in presets:
        return presets[config].to_dict()
    return json.loads(Path(config).read_text())


def parse_config(cls: type[C], argv: list[str] | None, description: str,
                 presets: dict[str, C] | None = None) -> C:
    """argv -> a `cls` (module docstring)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    parser = build_parser(cls, description, None, presets)
    try:
        given = _given(known.config, presets or {})
    except (OSError, ValueError) as e:
        parser.error(f"--config {known.config}: neither a preset nor a readable JSON file ({e})")
    parser = build_parser(cls, description, given, presets)
    ns = vars(parser.parse_args(argv))
    ns.pop("config")
    try:
        return cls(**ns)
    except (TypeError, ValueError) as e:
        parser.error(str(e))
        raise  # unreachable: parser.error exits


def write_config(config: DictConfig, path: Path) -> Path:
    """The JSON file that `--config` reads back (parse_config(type(config), ["--config", path]))."""
    path.write_text(json.dumps(config.to_dict(), indent=1) + "\n")
    return path
