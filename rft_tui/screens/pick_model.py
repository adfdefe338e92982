"""Pick a base model for ``model.name`` from what is on this machine, with whether each fits the setup.

The list is the model catalog (``engine.models.catalog``: the built-in model, the Hugging Face
cache, local folders runs used before), rated for the Setup form's config (``engine.planning.model_fit``).
Reading it means walking the cache and asking ``nvidia-smi``, so it runs in a worker thread while the
dialog says it is reading.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from engine.contract.config import RunConfig
from engine.methods import METHODS
from engine.planning.model_fit import TIGHT_SHARE, AvailableMemory, RatedModel, parameter_text
from rft_tui.models_command import FIT_STYLES, size_text, template_text
from rft_tui.widgets.key_footer import KeyFooter

COLUMNS = ("model.name", "source", "params", "on disk", "template", "thinking", "fit")


class ModelTable(DataTable):
    """The models, one a row; enter picks the highlighted one (DataTable's own key, named in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "pick this model")]


class PickModel(ModalScreen[str | None]):
    """enter on a row puts its name in model.name; escape cancels. ``available`` fixes the memory the badges
    are rated against (by default the free GPU memory, or the available RAM)."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    PickModel { align: center middle; }
    PickModel > Vertical { width: 116; height: auto; max-height: 100%; border: round $accent; background: $surface;
                           padding: 0 1; }
    PickModel ModelTable { height: auto; max-height: 20; }
    PickModel #pick-model-note { height: 2; color: $text-muted; }
    """

    def __init__(self, config: RunConfig | None, current: str = "", available: AvailableMemory | None = None):
        super().__init__()
        self.config, self.current, self.available = config, current, available
        self.rated: dict[str, RatedModel] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Pick a model for model.name", "bold"),
                                      "  (enter: pick · esc: cancel · or type a hub id in the field)"))
            yield Static("reading the cache…", id="pick-model-status")
            yield ModelTable(cursor_type="row", zebra_stripes=True, id="pick-model-table")
            yield Static("", id="pick-model-note")
        yield KeyFooter()  # this dialog's keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _read(self) -> None:
        from engine.models.catalog import list_models
        from engine.models.hub_cache import hub_cache_dir
        from engine.planning.model_fit import available_memory, rate_all

        try:
            entries = list_models()
            available = self.available or available_memory()
            rated = rate_all(entries, self.config, available) if self.config else \
                [RatedModel(e, None, None, "?") for e in entries]
            cache = hub_cache_dir()
        except Exception as error:  # a cache that cannot be walked: say so rather than close the dialog
            self.app.call_from_thread(self._failed, f"{type(error).__name__}: {error}")
            return
        self.app.call_from_thread(self._show, rated, available, str(cache))

    def _failed(self, message: str) -> None:
        self.query_one("#pick-model-status", Static).update(Text(f"could not read the models: {message}", style="red"))

    def _show(self, rated: list[RatedModel], available: AvailableMemory | None, cache: str) -> None:
        table = self.query_one(DataTable)
        self.rated = {r.entry.name: r for r in rated}
        for r in rated:
            badge = Text(r.fit_text(available), style=FIT_STYLES.get(r.badge, "dim"))
            name = Text(r.entry.name, style="" if r.entry.usable else "red")
            table.add_row(name, r.entry.source, parameter_text(r.parameters), size_text(r.entry.disk_bytes),
                          template_text(r.entry.has_template), r.entry.thinking or "—", badge, key=r.entry.name)
        if self.current in self.rated:
            table.move_cursor(row=list(self.rated).index(self.current))
        cached = sum(r.entry.source == "cache" for r in rated)
        self.query_one("#pick-model-status", Static).update(Text.assemble(
            ("fit ", "bold"), self._setup_text(available), "\n",
            (f"Hugging Face cache: {cache} ({cached} model{'s' if cached != 1 else ''})" if cached else
             f"Hugging Face cache: {cache} holds no models; type a hub id to download one", "dim")))
        table.focus()

    def _setup_text(self, available: AvailableMemory | None) -> str:
        if self.config is None:
            return "unknown until the setup's problems are fixed"
        c = self.config
        memory = available.describe() if available else "no memory reading"
        return (f"for {METHODS[c.method_name].title}, batch {c.training.batch_size} × {c.model.max_seq_length}-token "
                f"rows, against {memory} · tight: over {TIGHT_SHARE:.0%}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        r = self.rated.get(event.row_key.value)
        if r is None:
            return
        where = str(r.entry.folder) if r.entry.folder else "the built-in model"
        note = Text.assemble((f"{r.entry.architecture} · ", "bold"), where)
        if r.entry.note:
            note.append_text(Text.assemble("\n", (r.entry.note, "red" if not r.entry.usable else "")))
        self.query_one("#pick-model-note", Static).update(note)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._pick(event.row_key.value)

    def _pick(self, name: str | None) -> None:
        r = self.rated.get(name or "")
        if r is None:
            return
        if not r.entry.usable:
            self.notify(f"{name} cannot be used: {r.entry.note}", severity="error")
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
