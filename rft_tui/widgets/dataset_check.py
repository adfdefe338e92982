"""The dataset check in Setup: rows, detected format, a preview, and one example
as the model will see it, with the trained part set apart from the context.

It reads the data and the model's chat template in a thread (no torch), so a
large file or a slow disk never freezes the screen, and it re-checks whenever
the dataset, the model or the method changes. What it read of each stage's
dataset is kept in ``readings`` for the pre-flight check behind the Setup
verdict (``engine.planning.preflight``), which so never reads a dataset itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from engine.contract.config import RunConfig
from engine.planning.capabilities import processes_line
from engine.planning.preflight import DatasetReading, read_dataset, read_datasets, reading_key

PREVIEW_ROWS, CELL_CHARS = 5, 40
KEPT_READINGS = 32  # typing a path checks every prefix of it; older readings are dropped


@dataclass
class CheckResult:
    """What one check found: a summary line, raw rows, the rendered example, or an error."""

    summary: Text
    columns: list[str]
    rows: list[dict[str, Any]]
    example: Text | None
    reading: DatasetReading | None = None  # what the pre-flight check needs of it


def _cell(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def run_check(config: RunConfig) -> CheckResult:
    """Load and validate the dataset for the method, and render its first row (pure Python)."""
    from engine.data import DatasetError, load_rows, prepare
    from engine.methods import get_method
    from engine.models.chat_template import model_chat_format, render_example
    from engine.models.templates import TemplateError
    from engine.models.resolve import ModelError, cached_models, predict_backend, resolve_model

    spec = get_method(config.method_name)
    try:
        prepared = prepare(config.dataset, spec.formats, method=spec.title)
        raw, _ = load_rows(config.dataset)
    except DatasetError as error:
        return CheckResult(Text.assemble(("✗ dataset: ", "bold red"), str(error)), [], [], None,
                           DatasetReading(error=str(error)))
    summary = Text.assemble(("✓ ", "bold green"), f"{len(prepared.rows)} rows · format {prepared.format} · "
                            f"columns {', '.join(prepared.columns)}")
    model_dir: Path | None = None
    resolved = False
    try:
        source = resolve_model(config.model.name, config.model.revision)
        model_dir, resolved = source.path, True
        summary.append(f"\nmodel {source.title}")
        if model_dir is None:
            summary.append(" (converted from its GGUF on the first run, ~20 s)", style="dim")
        elif (model_dir / "config.json").is_file():
            weights = sum(p.stat().st_size for p in model_dir.glob("*.safetensors")) / 2**20
            summary.append(f" · {weights:,.0f} MB of weights" if weights else "")
        backend = predict_backend(config.model.backend, config.model.load_in_4bit, config.unsloth_trains)
        summary.append(f"\nwill train on {backend}" + ("" if config.lora.enabled else " · every weight trains"))
        split = processes_line(config)
        if split:
            summary.append(f"\n{split}")
    except ModelError as error:
        summary.append(Text.assemble("\n", ("✗ model: ", "bold red"), str(error)))
    cached = cached_models()
    if cached:
        summary.append(f"\nin your Hugging Face cache: {', '.join(cached[:6])}" + (" …" if len(cached) > 6 else ""),
                       style="dim")
    chat = None
    try:
        if resolved:
            chat = model_chat_format(model_dir, config.model.chat_template, config.model.enable_thinking)
            summary.append(f"\n{_describe(chat)}")
    except TemplateError as error:
        summary.append(Text.assemble("\n", ("✗ ", "bold red"), f"{error.key}: {error}"))
    masked = spec.name == "sft" and not config.training.train_on_thinking
    example = render_example(prepared.rows[0], model_dir, chat, train_on_thinking=not masked)
    if chat is not None and chat.template and not chat.system_role and _has_system(prepared.rows[0]):
        summary.append("\nthis template has no system role: the system prompt opens the first user turn",
                       style="yellow")
    if masked and "</think>" in example.context:
        summary.append("\nthe <think> part is context, not learnt (training.train_on_thinking = false)", style="dim")
    shown = Text()
    shown.append(example.context, style="dim")
    shown.append(example.trained, style="bold green")
    if model_dir is not None and not example.trained.strip():
        shown.append("\n(nothing in this row is trained)", style="yellow")
    columns = sorted({k for row in raw[:PREVIEW_ROWS] for k in row})
    return CheckResult(summary, columns, raw[:PREVIEW_ROWS], shown, DatasetReading.of(prepared))


def _describe(chat: Any) -> str:
    """One line on the chat format: whose template, the token that ends an answer, the thinking switch."""
    if chat.template is None:
        return "no chat template (text prompts only; set model.chat_template, e.g. 'chatml', to train on chats)"
    thinking = " · thinking switch" if chat.thinking else ""
    return f"chat template: {chat.origin} · answers end with {chat.end_of_turn}{thinking}"


def _has_system(row: dict[str, Any]) -> bool:
    turns = row.get("prompt") if isinstance(row.get("prompt"), list) else row.get("messages")
    return isinstance(turns, list) and bool(turns) and turns[0].get("role") == "system"


def check_all(config: RunConfig) -> tuple[CheckResult, dict[str, DatasetReading]]:
    """The pane's check of the run's dataset, and a reading of every stage's dataset (that one read once)."""
    from engine.methods import get_method

    try:
        result = run_check(config)
    except Exception as error:  # a reader's own failure must not leave the verdict checking forever
        message = f"could not read the dataset: {type(error).__name__}: {error}"
        result = CheckResult(Text.assemble(("✗ dataset: ", "bold red"), message), [], [], None,
                             DatasetReading(error=message))
    known = {reading_key(config.dataset, get_method(config.method_name)): result.reading}
    return result, read_datasets(config, _read_or_say_why, known)


def _read_or_say_why(dataset: Any, spec: Any) -> DatasetReading:
    try:
        return read_dataset(dataset, spec)
    except Exception as error:  # as above: a reading that failed is a problem to show, not a silence
        return DatasetReading(error=f"could not read the dataset {dataset.source}: {type(error).__name__}: {error}")


class DatasetCheck(VerticalScroll):
    """Summary, first rows, and the rendered example (dim: context, green: trained)."""

    class Checked(Message):
        """A check finished; what it read is in ``DatasetCheck.readings``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.readings: dict[str, DatasetReading] = {}

    def compose(self) -> ComposeResult:
        yield Static("checking…", id="check-summary")
        yield DataTable(id="check-rows", zebra_stripes=True, show_cursor=False)
        yield Static("", id="check-example-title", classes="pane-title")
        yield Static("", id="check-example")

    def check(self, config: RunConfig) -> None:
        self.query_one("#check-summary", Static).update("checking…")
        self._check(config)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _check(self, config: RunConfig) -> None:
        result, readings = check_all(config)
        self.app.call_from_thread(self._arrived, result, readings)

    def _arrived(self, result: CheckResult, readings: dict[str, DatasetReading]) -> None:
        for key, reading in readings.items():
            self.readings.pop(key, None)
            self.readings[key] = reading  # newest last
        for key in list(self.readings)[:-KEPT_READINGS]:
            del self.readings[key]
        self.show(result)
        self.post_message(self.Checked())

    def show(self, result: CheckResult) -> None:
        self.result = result
        self.query_one("#check-summary", Static).update(result.summary)
        table = self.query_one("#check-rows", DataTable)
        table.clear(columns=True)
        if result.columns:
            table.add_columns(*result.columns)
            for row in result.rows:
                table.add_row(*[_cell(row.get(c, "")) for c in result.columns])
        title = "One example as the model sees it (dim: context, green: trained)" if result.example else ""
        self.query_one("#check-example-title", Static).update(title)
        self.query_one("#check-example", Static).update(result.example or "")
