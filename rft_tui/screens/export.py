"""Export a run: pick the format, the checkpoint and the quantisation; watch the checks pass.

The work runs in ``python -m engine.export`` (see ``rft_tui.export_client``);
an export that already exists is replaced only after a yes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from engine.export import FORMATS, GGUF_QUANTS, export_dir, source_dir, sources
from engine.contract.runs import RunDir, is_whole_model
from rft_tui.screens.confirm import Confirm
from rft_tui.widgets.key_footer import KeyFooter

FORMAT_HELP = {
    "adapter": "LoRA adapter (small; load with PEFT on the base model)",
    "merged": "base + adapter merged, 16-bit (plain transformers)",
    "gguf": "GGUF for llama.cpp and Ollama, with a Modelfile",
}
# A run that fine-tuned every weight saved a whole model: there is no adapter, and nothing to merge.
WHOLE_MODEL_HELP = {"merged": "the fine-tuned model, 16-bit (plain transformers)"}


class ExportScreen(ModalScreen[None]):
    """A small form over the runs list, with its own footer of keys; escape closes it when no export is running."""

    BINDINGS = [Binding("escape", "close", "close")]

    def __init__(self, run: RunDir, **kwargs):
        super().__init__(**kwargs)
        self.run = run
        self.running = False
        self.lines: list[Text] = []  # the checks so far
        self.last = Text("")  # what the export is doing now, or how it ended

    def compose(self) -> ComposeResult:
        available = sources(self.run)
        whole = bool(available) and is_whole_model(source_dir(self.run, available[0]))
        formats = [(f"{f}: {(WHOLE_MODEL_HELP if whole else {}).get(f, FORMAT_HELP[f])}", f) for f in FORMATS
                   if not (whole and f == "adapter")]
        with Vertical(id="export-box"):
            yield Label(Text.assemble(("Export ", "bold"), self.run.name))
            yield Select(formats, value=formats[0][1], allow_blank=False, id="export-format")
            with Horizontal(id="export-options"):
                yield Select([(s, s) for s in available] or [("nothing to export yet", "")],
                             value=available[0] if available else "", allow_blank=False, id="export-source")
                yield Select([(q, q) for q in GGUF_QUANTS], value="q8_0", allow_blank=False, id="export-quant")
            yield Static("", id="export-target")
            yield Button("Export", id="export-go", variant="primary", disabled=not available)
            yield Static("", id="export-log")
        # Its own keys over the runs screen's, which do nothing while the dialog is open.
        yield KeyFooter()

    def on_mount(self) -> None:
        self._update_target()

    def _choice(self) -> tuple[str, str, str]:
        return (self.query_one("#export-format", Select).value, self.query_one("#export-source", Select).value,
                self.query_one("#export-quant", Select).value)

    def _update_target(self) -> None:
        fmt, source, quant = self._choice()
        self.query_one("#export-quant", Select).display = fmt == "gguf"
        if not source:
            self.query_one("#export-target", Static).update(Text("The run has saved no adapter yet.", style="yellow"))
            return
        target = export_dir(self.run, fmt, source, quant)
        note = Text(" (exists: exporting again asks first)", style="yellow") if target.exists() else Text("")
        self.query_one("#export-target", Static).update(Text.assemble(("to ", "dim"), str(target), note))

    def on_select_changed(self, event: Select.Changed) -> None:
        self._update_target()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "export-go" or self.running:
            return
        fmt, source, quant = self._choice()
        target = export_dir(self.run, fmt, source, quant)
        if target.exists():
            def answered(yes: bool | None) -> None:
                if yes:
                    self._start(fmt, source, quant, replace=True)

            self.app.push_screen(Confirm(f"{target.name} already exists in this run's exports. Replace it?"),
                                 answered)
            return
        self._start(fmt, source, quant, replace=False)

    def _start(self, fmt: str, source: str, quant: str, replace: bool) -> None:
        self.running = True
        self.query_one("#export-go", Button).disabled = True
        self.lines, self.last = [], Text(f"exporting {fmt} from {source}…", style="dim")
        self._show()
        self._export(fmt, source, quant, replace)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, fmt: str, source: str, quant: str, replace: bool) -> None:
        from rft_tui.export_client import run_export

        result = run_export(self.run, fmt, source, quant, replace,
                            on_event=lambda event: self.app.call_from_thread(self.on_export_event, event))
        self.app.call_from_thread(self.on_export_event, result)

    def on_export_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "progress":
            self.last = Text(event["message"][:200], style="dim")
        elif kind == "check":
            mark = ("✓ ", "green") if event["ok"] else ("✗ ", "red")
            self.lines.append(Text.assemble(mark, (event["name"], "bold"), f": {event['detail']}"))
        elif kind == "done":
            self.last = Text(f"exported to {event['path']} ({event['size_bytes'] / 1e6:.1f} MB in "
                             f"{event['seconds']:.1f} s)", style="bold green")
            self._finish()
        elif kind == "error":
            from engine.contract.user_traceback import user_report

            report = user_report(event["message"], event.get("traceback"), event.get("log"))
            self.last = Text(f"export failed: {report}", style="bold red")
            self._finish()
        self._show()

    def _finish(self) -> None:
        self.running = False
        self.query_one("#export-go", Button).disabled = False
        self._update_target()

    def _show(self) -> None:
        self.query_one("#export-log", Static).update(Text("\n").join([*self.lines, self.last]))

    def action_close(self) -> None:
        if self.running:
            self.notify("the export is still running; it finishes on its own", severity="warning")
            return
        self.dismiss(None)
