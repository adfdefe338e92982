"""A row of section names, one of them active: the form's sections, picked with ←/→ or a click.

One widget drawn as one line of text. Textual's ``Tabs`` does the same with a
widget per tab and an animated underline, and cost the first screen ~30 ms of
CPU each (more than an option list of presets) on a small machine.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

GAP = 2  # spaces between two names (every section of the form fits a 120-column terminal)


class SectionBar(Widget, can_focus=True):
    """Section names with the active one highlighted and each one's problem count."""

    DEFAULT_CSS = """
    SectionBar { height: 1; width: 1fr; padding: 0 1; }
    SectionBar:focus { background: $boost; }
    """
    # One footer entry for the pair: "←→ section".
    BINDINGS = [Binding("left", "move(-1)", "previous section", show=False),
                Binding("right", "move(1)", "section", key_display="←→")]

    active: reactive[str] = reactive("", layout=False)
    problems: reactive[dict[str, int]] = reactive(dict, always_update=True)

    class Changed(Message):
        """The active section changed (by key or click)."""

        def __init__(self, bar: SectionBar, section: str) -> None:
            super().__init__()
            self.bar = bar
            self.section = section

    def __init__(self, sections: list[str], active: str, **kwargs):
        super().__init__(**kwargs)
        self.sections = sections
        self.set_reactive(SectionBar.active, active)

    def label(self, section: str) -> Text:
        """How one section reads in the bar: its name, and ``✗N`` when N of its fields have a problem."""
        count = self.problems.get(section, 0)
        return Text(section) if not count else Text.assemble(section, (f" ✗{count}", "bold red"))

    def render(self) -> Text:
        line = Text()
        for i, section in enumerate(self.sections):
            if i:
                line.append(" " * GAP)
            label = self.label(section)
            if section == self.active:
                label.stylize("bold reverse" if self.has_focus else "bold underline")
            else:
                label.stylize("dim")
            line.append_text(label)
        return line

    def _pick(self, section: str) -> None:
        if section != self.active:
            self.active = section
            self.post_message(self.Changed(self, section))

    def action_move(self, step: int) -> None:
        index = self.sections.index(self.active) if self.active in self.sections else 0
        self._pick(self.sections[(index + step) % len(self.sections)])

    def on_click(self, event: events.Click) -> None:
        x = event.x - self.styles.padding.left
        for section in self.sections:
            width = self.label(section).cell_len
            if 0 <= x < width:
                self._pick(section)
                return
            x -= width + GAP

    def on_focus(self) -> None:
        self.refresh()  # the active name is drawn reversed while the bar has focus

    def on_blur(self) -> None:
        self.refresh()
