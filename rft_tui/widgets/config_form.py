"""A form generated from the config schema: descriptions are help text, bounds validate as you type.

Each field is its label and an input (a switch for booleans, a select for
choices), with its description, or its current error, on the line below. ``values()`` returns the
edited values as ``section.key → value`` overrides.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
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


class ConfigForm(VerticalScroll):
    """Rows for the scalar fields of the given pydantic sections."""

    class Edited(Message):
        """A field changed; the screen re-validates the whole config."""

    def __init__(self, sections: list[tuple[str, type[BaseModel], BaseModel]], **kwargs):
        super().__init__(**kwargs)
        self.sections = sections
        self.paths: dict[str, tuple[Any, Any]] = {}  # path → (annotation, initial value)

    def compose(self) -> ComposeResult:
        for prefix, model, current in self.sections:
            yield Static(prefix or "general", classes="form-section")
            for name, info in model.model_fields.items():
                if (prefix == "method" and name == "name") or not (_scalar(info.annotation) or _choices(info.annotation)):
                    continue
                path = f"{prefix}.{name}" if prefix else name
                value = getattr(current, name)
                self.paths[path] = (info.annotation, value)
                with Horizontal(classes="form-row"):
                    yield Label(name, classes="form-label")
                    choices = _choices(info.annotation)
                    if info.annotation is bool:
                        yield Switch(value=bool(value), id=_dom_id(path))
                    elif choices:
                        yield Select([(c, c) for c in choices], value=str(value), allow_blank=False, id=_dom_id(path))
                    else:
                        yield Input("" if value is None else str(value), id=_dom_id(path))
                yield Static(info.description or "", classes="form-help", id=_dom_id(path) + "-help")

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
        """Put each field's error (or its help text again) beside it."""
        for path, (annotation, _) in self.paths.items():
            help_widget = self.query_one(f"#{_dom_id(path)}-help", Static)
            info = self._info(path)
            if path in problems:
                help_widget.update(f"[b red]{problems[path]}[/]")
            else:
                help_widget.update(info.description or "")

    def _info(self, path: str):
        prefix, _, name = path.rpartition(".")
        for section, model, _ in self.sections:
            if section == prefix:
                return model.model_fields[name]
        raise KeyError(path)

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
