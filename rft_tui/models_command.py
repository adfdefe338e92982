"""``rft models``: the models this machine can train, and whether each fits a setup.

It lists the built-in model, the Hugging Face cache's models and the local folders runs used
before (``engine.models.catalog``), each with its parameter count and a fit badge for a preset
(``sft`` unless ``--preset`` names another, with ``--set`` overrides) against the free GPU memory,
or the available RAM without a GPU (``engine.planning.model_fit``). It reads files only: no hub,
no torch.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

EXIT_OK, EXIT_USAGE = 0, 2
FIT_STYLES = {"fits": "green", "tight": "yellow", "won't fit": "red"}


def add_parser(sub: Any) -> None:
    """The ``models`` subcommand's arguments."""
    models = sub.add_parser("models", help="list the models to train (built-in, Hugging Face cache, local folders) "
                            "and whether each fits")
    models.add_argument("--preset", default="sft", help="rate the fit for this preset (default: sft)")
    models.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value of the preset, e.g. --set training.batch_size=1 (repeatable)")
    models.add_argument("--json", action="store_true", help="print the list as JSON instead of a table")


def template_text(has_template: bool | None) -> str:
    return {True: "yes", False: "no", None: "—"}[has_template]


def size_text(size: int | None) -> str:
    """Bytes on disk as people read them: '481 KB', '1.1 GB'; '—' when not known."""
    if size is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if unit == "GB" else f"{size / scale:.0f} {unit}"
    return f"{size} B"


def cmd_models(args: argparse.Namespace, console: Console) -> int:
    from engine.contract.config import ConfigError
    from engine.contract.presets import load_config
    from engine.models.catalog import list_models
    from engine.models.hub_cache import hub_cache_dir
    from engine.methods import METHODS
    from engine.planning.model_fit import TIGHT_SHARE, available_memory, parameter_text, rate_all

    try:
        config = load_config(args.preset, args.overrides)
    except ConfigError as error:
        console.print(f"[red]Cannot use this preset:[/red]\n{error}", highlight=False)
        return EXIT_USAGE
    available = available_memory()
    rated = rate_all(list_models(), config, available)
    if args.json:
        console.print_json(json.dumps([{
            "name": r.entry.name, "source": r.entry.source, "architecture": r.entry.architecture,
            "parameters": r.parameters, "disk_bytes": r.entry.disk_bytes, "chat_template": r.entry.has_template,
            "thinking": r.entry.thinking or None, "fit": r.badge, "needed_bytes": r.needed_bytes,
            "available_bytes": available.bytes if available else None, "note": r.entry.note or None,
            "folder": str(r.entry.folder) if r.entry.folder else None} for r in rated]))
        return EXIT_OK
    table = Table("model.name", "source", "architecture", "params", "on disk", "template", "thinking", "fit",
                  box=None)
    for r in rated:
        fit = r.fit_text(available)
        # Text, not markup: a folder's name may hold brackets.
        table.add_row(Text(r.entry.name), r.entry.source, Text(r.entry.architecture), parameter_text(r.parameters),
                      size_text(r.entry.disk_bytes), template_text(r.entry.has_template), r.entry.thinking or "—",
                      Text(fit, style=FIT_STYLES.get(r.badge, "dim")))
    console.print(table)
    for r in rated:
        if r.entry.note:
            console.print(Text.assemble(("" if r.entry.usable else "✗ ", "bold red"), f"{r.entry.name}: {r.entry.note}"),
                          highlight=False)
    memory = available.describe() if available else "no memory reading (no nvidia-smi, no /proc/meminfo)"
    console.print(f"fit: preset {args.preset} ({METHODS[config.method_name].title}, batch "
                  f"{config.training.batch_size} × {config.model.max_seq_length}-token rows) against {memory}; "
                  f"'tight' is over {TIGHT_SHARE:.0%} of it", highlight=False)
    cache, cached = hub_cache_dir(), sum(r.entry.source == "cache" for r in rated)
    where = f"Hugging Face cache: {cache}"
    console.print(f"{where} ({cached} model{'s' if cached != 1 else ''})" if cached else
                  f"{where} holds no models" + ("" if cache.is_dir() else " (the folder does not exist)")
                  + "; download one where there is network (`hf download ORG/NAME`)", highlight=False)
    return EXIT_OK
