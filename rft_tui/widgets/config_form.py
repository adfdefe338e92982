"""A form generated from the config schema: descriptions are help text, bounds validate as you type.

Each field is its label and an input (a switch for booleans, a select for
choices); the focused field's description, or its current error, shows in one
help line above the fields, and a field with a problem turns red. ``values()`` returns the
edited values as ``section.key → value`` overrides.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from textual.app import ComposeResult
from rich.text import Text
from textual.containers import Grid, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, Switch


def _choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return None


def _scalar(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    kinds = set(args) - {type(None)} if args else {annotation}
    return kinds <= {int, float, str, bool} and bool(kinds)


def _dom_id(path: str) -> str:
    return "field-" + path.replace(".", "--").replace("_", "-")


class ConfigForm(Vertical):
    """A grid of label and input per section, and one help line for the focused field.

    One help line instead of one per field keeps the widget count low, which is
    what the screen's start-up time is made of.
    """

    class Edited(Message):
        """A field changed; the screen re-validates the whole config."""

    def __init__(self, sections: list[tuple[str, type[BaseModel], BaseModel]], **kwargs):
        super().__init__(**kwargs)
        self.sections = sections
        self.paths: dict[str, tuple[Any, Any]] = {}  # path → (annotation, initial value)
        self.descriptions: dict[str, str] = {}
        self.problems: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("Tab moves between fields; the focused field's help shows here.", id="field-help")
        with VerticalScroll(id="form-fields"):
            for prefix, model, current in self.sections:
                yield Static(prefix or "general", classes="form-section")
                with Grid(classes="form-grid"):
                    yield from self._fields(prefix, model, current)

    def _fields(self, prefix: str, model: type[BaseModel], current: BaseModel) -> ComposeResult:
        for name, info in model.model_fields.items():
            if (prefix == "method" and name == "name") or not (_scalar(info.annotation) or _choices(info.annotation)):
                continue
            path = f"{prefix}.{name}" if prefix else name
            value = getattr(current, name)
            self.paths[path] = (info.annotation, value)
            self.descriptions[path] = info.description or ""
            yield Label(name, classes="form-label")
            choices = _choices(info.annotation)
            if info.annotation is bool:
                widget: Any = Switch(value=bool(value), id=_dom_id(path))
            elif choices:
                widget = Select([(c, c) for c in choices], value=str(value), allow_blank=False, id=_dom_id(path))
            else:
                widget = Input("" if value is None else str(value), id=_dom_id(path))
            widget.tooltip = info.description or None
            yield widget

    def values(self) -> dict[str, Any]:
        """Every field's current value, parsed to its type ('' → None)."""
        out: dict[str, Any] = {}
        for path, (annotation, _) in self.paths.items():
            widget = self.query_one(f"#{_dom_id(path)}")
            if isinstance(widget, Switch):
                out[path] = widget.value
            elif isinstance(widget, Select):
                out[path] = widget.value
            else:
                out[path] = _parse(widget.value, annotation)
        return out

    def show_errors(self, problems: dict[str, str]) -> None:
        """Mark fields with a problem (red, the reason as tooltip and in the help line when focused)."""
        self.problems = {path: reason for path, reason in problems.items() if path in self.paths}
        for path in self.paths:
            widget = self.query_one(f"#{_dom_id(path)}")
            widget.set_class(path in self.problems, "-invalid")
            widget.tooltip = self.problems.get(path) or self.descriptions[path] or None
        focused = self.screen.focused
        if focused is not None and focused.id and focused.id.startswith("field-"):
            self._show_help(focused.id)

    def help_text(self, path: str) -> Text:
        if path in self.problems:
            return Text.assemble((f"{path}: ", "bold red"), (self.problems[path], "red"))
        return Text.assemble((f"{path}: ", "bold"), self.descriptions.get(path, ""))

    def _show_help(self, dom_id: str) -> None:
        path = next((p for p in self.paths if _dom_id(p) == dom_id), None)
        if path is not None:
            self.query_one("#field-help", Static).update(self.help_text(path))

    def on_descendant_focus(self, event) -> None:
        if event.widget.id:
            self._show_help(event.widget.id)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.post_message(self.Edited())

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.post_message(self.Edited())

    def on_select_changed(self, event: Select.Changed) -> None:
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
