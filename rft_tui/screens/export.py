"""Export a run: pick the format, the checkpoint and the quantisation; watch the checks pass; push to the Hub.

The work runs in ``python -m engine.export`` (see ``rft_tui.export_client``);
an export that already exists is replaced only after a yes. A Hub repo typed
in (checked as it is typed) sends the export there once it has passed its
checks; an export made before is pushed as it is.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, Select, Static

from engine.contract.hub_repo import repo_id_problem
from engine.contract.runs import RunDir, is_whole_model
from engine.export import FORMATS, GGUF_QUANTS, export_dir, source_dir, sources
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
            with Horizontal(id="export-hub-row"):
                yield Input(placeholder="push to the Hugging Face Hub as ORG/NAME (optional)", id="export-hub")
                yield Checkbox("private", id="export-private")
            yield Static("", id="export-hub-check")
            yield Button("Export", id="export-go", variant="primary", disabled=not available)
            upload = ProgressBar(id="export-upload", show_eta=False)
            upload.display = False  # until a push starts sending bytes
            yield upload
            yield Static("", id="export-log")
        # Its own keys over the runs screen's, which do nothing while the dialog is open.
        yield KeyFooter()

    def on_mount(self) -> None:
        self._update_target()

    @property
    def hub_repo(self) -> str:
        return self.query_one("#export-hub", Input).value.strip()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "export-hub":
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
        repo, go = self.hub_repo, self.query_one("#export-go", Button)
        problem = repo_id_problem(repo) if repo else None
        if target.exists():
            note = Text(" (exists: it is pushed as it is)" if repo else " (exists: exporting again asks first)",
                        style="yellow")
        else:
            note = Text("")
        self.query_one("#export-target", Static).update(Text.assemble(("to ", "dim"), str(target), note))
        check = Text(problem, style="red") if problem else \
            Text(f"then pushed to https://huggingface.co/{repo} with your HF_TOKEN or `hf auth login` token",
                 style="dim") if repo else Text("")
        self.query_one("#export-hub-check", Static).update(check)
        go.label = ("Push" if target.exists() else "Export and push") if repo else "Export"
        go.disabled = self.running or bool(problem)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._update_target()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "export-go" or self.running:
            return
        fmt, source, quant = self._choice()
        target = export_dir(self.run, fmt, source, quant)
        if target.exists() and self.hub_repo:
            self._start(fmt, source, quant, replace=False, push_existing=True)
            return
        if target.exists():
            def answered(yes: bool | None) -> None:
                if yes:
                    self._start(fmt, source, quant, replace=True)

            self.app.push_screen(Confirm(f"{target.name} already exists in this run's exports. Replace it?"),
                                 answered)
            return
        self._start(fmt, source, quant, replace=False)

    def _start(self, fmt: str, source: str, quant: str, replace: bool, push_existing: bool = False) -> None:
        self.running = True
        self.query_one("#export-go", Button).disabled = True
        doing = f"pushing the {fmt} export made before" if push_existing else f"exporting {fmt} from {source}"
        self.lines, self.last = [], Text(f"{doing}…", style="dim")
        self._show()
        self._export(fmt, source, quant, replace, self.hub_repo or None,
                     self.query_one("#export-private", Checkbox).value, push_existing)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, fmt: str, source: str, quant: str, replace: bool, push_to: str | None, private: bool,
                push_existing: bool) -> None:
        from rft_tui.export_client import run_export

        result = run_export(self.run, fmt, source, quant, replace,
                            on_event=lambda event: self.app.call_from_thread(self.on_export_event, event),
                            push_to=push_to, private=private, push_existing=push_existing)
        self.app.call_from_thread(self.on_export_event, result)

    def on_export_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "progress":
            self.last = Text(event["message"][:200], style="dim")
        elif kind == "check":
            mark = ("✓ ", "green") if event["ok"] else ("✗ ", "red")
            self.lines.append(Text.assemble(mark, (event["name"], "bold"), f": {event['detail']}"))
        elif kind == "upload":
            bar = self.query_one("#export-upload", ProgressBar)
            bar.display = True
            bar.update(total=event["total"] or 1, progress=event["sent"])
        elif kind == "done":
            self.last = Text(f"exported to {event['path']} ({event['size_bytes'] / 1e6:.1f} MB in "
                             f"{event['seconds']:.1f} s)", style="bold green")
            if pushed := event.get("pushed"):
                self.last = Text(f"pushed {pushed['files']} files ({pushed['size_bytes'] / 1e6:.1f} MB) to "
                                 f"{pushed['url']}{' (private)' if pushed['private'] else ''}", style="bold green")
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
