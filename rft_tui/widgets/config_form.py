"""A form generated from the config schema: descriptions are help text, bounds validate as you type.

The form shows one section (model, dataset, training, lora, method) at a time,
picked from a bar of section names; each field is its label and an input (a
switch for booleans, a select for choices). The focused field's whole
description, or its current error, shows in the help lines above the fields
(how to move about shows there while no field has focus); a field with a
problem turns red, and its section's name in the bar counts it, so a problem in a section
you are not looking at is still in view. ``values()`` returns every field's
value as ``section.key → value`` overrides, shown or not.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from rft_tui.widgets.section_bar import SectionBar

HOW_TO_MOVE = ("Tab and shift+Tab move between fields; esc leaves a field for the section bar, where ←/→ "
               "picks a section and the letter keys below work. The focused field's help shows here.")


# The method list on the left picks the method; the app's runs folder (``rft --runs-dir``) is where its runs go.
NOT_IN_FORM = {"method.name", "output.runs_dir"}


def _choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return None


def _words(annotation: Any) -> bool:
    """A list of words from a fixed set (``list[Literal[...]]``): typed as one line, 'tensorboard, wandb'."""
    if typing.get_origin(annotation) is not list:
        return False
    return all(typing.get_origin(arg) is typing.Literal for arg in typing.get_args(annotation))


def _scalar(annotation: Any) -> bool:
    if _words(annotation):
        return True
    args = typing.get_args(annotation)
    kinds = set(args) - {type(None)} if args else {annotation}
    # A word among numbers (``int | Literal["auto"]``) is typed like any other text.
    kinds = {str if typing.get_origin(kind) is typing.Literal else kind for kind in kinds}
    return kinds <= {int, float, str, bool} and bool(kinds)


def _dom_id(path: str) -> str:
    return "field-" + path.replace(".", "--").replace("_", "-")


@dataclass
class Field:
    """One form field: where it lives, its type, its help."""

    path: str
    section: str
    name: str
    annotation: Any
    description: str
    default: Any = None


class ConfigForm(Vertical):
    """The section bar, one help line, and the shown section's fields.

    Only the shown section's widgets exist (a section is mounted when it
    is picked): the widget count is what the first screen's start-up time is
    made of. What was typed in a section survives switching away from it,
    invalid text included.
    """

    class Edited(Message):
        """A field changed; the screen re-validates the whole config."""

    def __init__(self, sections: list[tuple[str, type[BaseModel], BaseModel]], active: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.fields: dict[str, Field] = {}
        self._path_of: dict[str, str] = {}  # DOM id → field path
        self.raw: dict[str, Any] = {}  # path → the widget's value: text for inputs, as typed
        self.section_names: list[str] = []
        for prefix, model, current in sections:
            self.section_names.append(prefix)
            for name, info in model.model_fields.items():
                if f"{prefix}.{name}" in NOT_IN_FORM or not (_scalar(info.annotation) or _choices(info.annotation)):
                    continue
                path = f"{prefix}.{name}"
                self.fields[path] = Field(path, prefix, name, info.annotation, info.description or "", info.default)
                self._path_of[_dom_id(path)] = path
                value = getattr(current, name)
                self.raw[path] = bool(value) if info.annotation is bool else \
                    str(value) if _choices(info.annotation) else ", ".join(value) if _words(info.annotation) \
                    else "" if value is None else str(value)
        self.active = active if active in self.section_names else self.section_names[0]
        self.problems: dict[str, str] = {}

    @property
    def paths(self) -> list[str]:
        """Every field's path, in form order."""
        return list(self.fields)

    @property
    def label_width(self) -> int:
        """Cells for the label column: the longest field name and a space, so no label wraps."""
        return max((len(field.name) for field in self.fields.values()), default=0) + 2

    def compose(self) -> ComposeResult:
        yield Static(HOW_TO_MOVE, id="field-help")
        yield SectionBar(self.section_names, self.active, id="form-sections")
        fields = VerticalScroll(id="form-fields")
        # Focusing a field scrolls it into view; the scroll itself would be a Tab stop that shows nothing.
        fields.can_focus = False
        with fields:
            grid = Grid(*self._widgets(self.active), classes="form-grid", id="form-grid")
            grid.styles.grid_columns = f"{self.label_width} 1fr"
            yield grid

    def _widgets(self, section: str) -> list[Widget]:
        widgets: list[Widget] = []
        for field in self.fields.values():
            if field.section != section:
                continue
            raw = self.raw[field.path]
            choices = _choices(field.annotation)
            if field.annotation is bool:
                widget: Any = Switch(value=raw, id=_dom_id(field.path))
            elif choices:
                widget = Select([(c, c) for c in choices], value=raw, allow_blank=False, id=_dom_id(field.path))
            else:
                widget = Input(raw, id=_dom_id(field.path))
            self._mark(widget, field.path)
            widgets += [Label(field.name, classes="form-label"), widget]
        return widgets

    async def show_section(self, section: str) -> None:
        """Replace the shown fields with ``section``'s (what was typed is kept)."""
        if section == self.active:
            return
        self._remember()
        self.active = section
        grid = self.query_one("#form-grid", Grid)
        await grid.remove_children()
        await grid.mount_all(self._widgets(section))
        self.query_one(SectionBar).active = section

    async def reveal(self, path: str) -> Widget:
        """Show the section holding ``path`` and return its input widget."""
        await self.show_section(self.fields[path].section)
        return self.query_one(f"#{_dom_id(path)}")

    def _shown(self) -> list[tuple[str, Widget]]:
        """(path, input widget) for each field on screen; one walk of the grid, not a query per field."""
        grids = self.query("#form-grid")
        if not grids:
            return []
        return [(self._path_of[w.id], w) for w in grids.first().children if w.id in self._path_of]

    def _remember(self) -> None:
        """Copy the shown widgets' values into ``raw``, so hiding a section loses nothing."""
        for path, widget in self._shown():
            self.raw[path] = widget.value

    def values(self) -> dict[str, Any]:
        """Every field's current value, parsed to its type, shown or not. A blank field is None (unset) where
        its default is None; elsewhere it stays '' and the schema refuses it, naming the default, rather
        than the default applying unseen."""
        self._remember()
        out: dict[str, Any] = {}
        for path, field in self.fields.items():
            raw = self.raw[path]
            out[path] = _parse(raw, field.annotation) if isinstance(raw, str) and not _choices(field.annotation) \
                else raw
            if out[path] is None and field.default is not None:
                out[path] = ""
        return out

    def show_errors(self, problems: dict[str, str]) -> None:
        """Mark fields with a problem (red, the reason as tooltip and in the help line when focused),
        and each section's name in the bar with how many it has."""
        self.problems = {path: reason for path, reason in problems.items() if path in self.fields}
        for path, widget in self._shown():
            self._mark(widget, path)
        bars = self.query(SectionBar)
        if bars:
            bars.first().problems = {section: sum(self.fields[p].section == section for p in self.problems)
                                     for section in self.section_names}
        focused = self.screen.focused
        if focused is not None and focused.id and focused.id.startswith("field-"):
            self._show_help(focused.id)

    def _mark(self, widget: Widget, path: str) -> None:
        widget.set_class(path in self.problems, "-invalid")
        widget.tooltip = self.problems.get(path) or self.fields[path].description or None

    def help_text(self, path: str) -> Text:
        if path in self.problems:
            return Text.assemble((f"{path}: ", "bold red"), (self.problems[path], "red"))
        return Text.assemble((f"{path}: ", "bold"), self.fields[path].description)

    def _show_help(self, dom_id: str | None) -> None:
        path = self._path_of.get(dom_id or "")
        self.query_one("#field-help", Static).update(HOW_TO_MOVE if path is None else self.help_text(path))

    async def on_section_bar_changed(self, event: SectionBar.Changed) -> None:
        event.stop()
        await self.show_section(event.section)

    def _field_id(self, widget: Widget) -> str | None:
        """The DOM id of the field ``widget`` is part of (a select's open list is part of the select)."""
        for node in (widget, *widget.ancestors):
            if node is self:
                return None
            if node.id in self._path_of:
                return node.id
        return None

    def on_descendant_focus(self, event) -> None:
        # The help line follows the focus: a field's help, or how to move about on the section bar.
        self._show_help(self._field_id(event.widget))

    def on_descendant_blur(self, event) -> None:
        focused = self.screen.focused
        if focused is None or self not in focused.ancestors:
            self._show_help(None)  # the focus left the form: no field's help is current

    def on_input_changed(self, event: Input.Changed) -> None:
        self._edited(event)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._edited(event)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._edited(event)

    def _edited(self, event: Input.Changed | Switch.Changed | Select.Changed) -> None:
        path = self._path_of.get(event.control.id or "")
        # A widget reports its first value as a change when it mounts; only a real edit re-validates.
        if path is None or event.value == self.raw.get(path):
            return
        # Values are remembered on every change: a section can be replaced before the screen reads them.
        self._remember()
        self.post_message(self.Edited())


def _parse(text: str, annotation: Any) -> Any:
    text = text.strip()
    if text == "":
        return None
    kinds = set(typing.get_args(annotation)) - {type(None)} or {annotation}
    for kind in (int, float):
        if kind in kinds:
            try:
                return kind(text)
            except ValueError:
                continue
    return text
