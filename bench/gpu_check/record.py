"""The GPU check's record: a Markdown page a person reads and the JSON beside it, never overwritten."""

from __future__ import annotations

from pathlib import Path

from engine.contract.atomic_files import atomic_write_json, atomic_write_text

# The numbers worth a column, in the order they are shown, with their formats.
COLUMNS = [("tokens_per_s", "tokens/s", "{:,.0f}"), ("step_s", "s/step", "{:.3f}"), ("peak_gib", "peak GiB", "{:.2f}"),
           ("estimate_gib", "estimate GiB", "{:.2f}"), ("estimate_over_peak", "estimate / peak", "{:.2f}")]


def _cell(value, fmt: str) -> str:
    if value is None:
        return "—"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def markdown(record: dict) -> str:
    kind = "CPU smoke run of the harness" if record["smoke"] else "GPU check"
    env = record["parts"].get("environment", {}).get("numbers", {})
    lines = [f"# {record['date']}: {kind}", "",
             f"Device: {env.get('device', record['device'])}"
             + (f", {env['memory_gib']:.0f} GiB" if env.get("memory_gib") else "") + f". {env.get('versions', '')}.",
             "", "Models (random weights, the travelling tokenizer's vocabulary): "
             + "; ".join(f"{role} = {s['name']} (hidden {s['hidden_size']}, {s['num_hidden_layers']} layers)"
                         for role, s in record["shapes"].items()) + ".",
             f"Settings: {record['settings']}. Whole check: {record['seconds']} s.", "",
             "| part | status | s | " + " | ".join(title for _, title, _ in COLUMNS) + " | other |",
             "|---|---|---|" + "---|" * len(COLUMNS) + "---|"]
    for name, part in record["parts"].items():
        numbers = dict(part["numbers"])
        cells = [_cell(numbers.pop(key, None), fmt) for key, _, fmt in COLUMNS]
        other = ", ".join(f"{k} {_cell(v, '{:.3g}') if isinstance(v, float) else v}" for k, v in numbers.items())
        note = part["note"].replace("|", "/").replace("\n", " ")[:300]
        lines.append(f"| {part['title']} | {part['status']} | {part['seconds']} | " + " | ".join(cells)
                     + f" | {'; '.join(x for x in (other, note) if x)} |")
    if record["overheads"]:
        lines += ["", "rft's step time over the bare script's: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in record["overheads"].items()) + "."]
    return "\n".join(lines) + "\n"


def write(record: dict, folder: Path) -> tuple[Path, Path]:
    """``DATE-gpu-check[-smoke][-N].md`` and ``.json`` in ``folder``; an earlier record of the day is kept."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{record['date']}-gpu-check" + ("-smoke" if record["smoke"] else "")
    name, n = stem, 2
    while (folder / f"{name}.md").exists() or (folder / f"{name}.json").exists():
        name, n = f"{stem}-{n}", n + 1
    md, data = folder / f"{name}.md", folder / f"{name}.json"
    atomic_write_json(data, record)
    atomic_write_text(md, markdown(record))
    return md, data
