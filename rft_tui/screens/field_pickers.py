"""Setup's keys that fill the focused field from a dialog: a path (ctrl+b), a model for model.name (ctrl+o).

A filled field is an edit like a typed one: the form posts its change, and Setup checks the config
again and updates the verdict.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from rft_tui.screens.pick_model import PickModel
from rft_tui.screens.pick_path import PickPath
from rft_tui.widgets.config_form import _dom_id

MODEL_FIELD = _dom_id("model.name")


class FieldPickers:
    """The two picking actions, mixed into ``SetupScreen`` (which has ``focused``, ``app`` and ``validate``)."""

    _picking = False  # a picker was opened from a field, and Setup has not been back since

    def back_from_picker(self) -> bool:
        """Whether Setup resumes from one of these pickers (asked once per return)."""
        picking, self._picking = self._picking, False
        return picking

    def _open(self, picker, fill) -> None:
        self._picking = True
        self.app.push_screen(picker, fill)

    def _model_name_focused(self) -> bool:
        return isinstance(self.focused, Input) and self.focused.id == MODEL_FIELD

    def action_browse(self) -> None:
        """Fill the focused field (model name, dataset source, start_from, …) with a picked path."""
        field = self.focused
        if not isinstance(field, Input) or not (field.id or "").startswith("field-"):
            self.notify("focus a field such as model name or dataset source first", severity="warning")
            return

        def fill(path: str | None) -> None:
            if path:
                field.value = path

        self._open(PickPath(Path.cwd(), f"Path for {field.id.removeprefix('field-')}"), fill)

    def action_pick_model(self) -> None:
        """Fill model.name from the models on this machine, each rated for the config as it is now."""
        if not self._model_name_focused():
            self.notify("focus the model.name field first (in the model section)", severity="warning")
            return
        field = self.focused

        def fill(name: str | None) -> None:
            if name:
                field.value = name

        self._open(PickModel(self.validate(), current=field.value), fill)
