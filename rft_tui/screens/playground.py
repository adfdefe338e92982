"""The playground: ask the base model and the tuned one the same thing and read both answers.

Answers stream in side by side from the engine's playground process; the
run's reward functions score both under them. Greedy or sampled is one key;
the adapter can be the run's final one or any checkpoint's. A table under the
answers adds up base against tuned over every prompt asked, as ``rft eval``
does over held-out ones.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, OptionList, Select, Static

from engine.export import sources
from engine.contract.runs import RunDir
from rft_tui.playground_client import PlaygroundSession
from rft_tui.widgets.asked_tally import AskedTally
from rft_tui.widgets.key_footer import KeyFooter

SIDES = {"base": "base model", "tuned": "tuned (with the adapter)"}


class PlaygroundScreen(Screen):
    """Two answers to one prompt: the base model's and the run's."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("ctrl+g", "toggle_greedy", "greedy/sampled"),
    ]

    def __init__(self, run: RunDir, source: str = "final", **kwargs):
        super().__init__(**kwargs)
        self.run, self.source = run, source
        self.greedy = True
        self.session: PlaygroundSession | None = None
        self.busy = True  # until the models are loaded
        self.texts: dict[str, str] = {}
        self.answers: dict[str, dict[str, Any]] = {}  # the last complete answer per side

    def compose(self) -> ComposeResult:
        with Horizontal(id="pg-top"):
            yield Static("", id="pg-title")
            yield Select([(f"adapter: {s}", s) for s in sources(self.run)] or [(self.source, self.source)],
                         value=self.source, allow_blank=False, id="pg-source")
        with Horizontal(id="pg-answers"):
            for side, title in SIDES.items():
                with Vertical(classes="pg-side", id=f"pg-{side}"):
                    yield Static(Text(title, style="bold"), classes="pg-side-title")
                    with VerticalScroll(classes="pg-scroll"):
                        yield Static("", id=f"pg-{side}-text", classes="pg-text")
                    yield Static("", id=f"pg-{side}-rewards", classes="pg-rewards")
        yield AskedTally(id="pg-tally")
        yield Static("", id="pg-status")
        yield OptionList(id="pg-probes")
        yield Input(placeholder="Ask both models something, then press enter", id="pg-prompt")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._title()
        self._start_session()
        self.query_one("#pg-prompt", Input).focus()

    def _start_session(self) -> None:
        if self.session is not None:
            self.session.close()
        self.busy = True
        self.query_one("#pg-probes", OptionList).clear_options()
        self.query_one("#pg-tally", AskedTally).reset()  # another adapter: its own comparison
        self._status(f"loading {self.run.name} ({self.source}) in the engine…")
        self.session = PlaygroundSession(self.run, self.source)
        self._read_events(self.session)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "pg-source" and event.value != self.source:
            self.source = event.value  # another checkpoint: a new engine process loads its adapter
            self._title()
            self._start_session()

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()

    def _title(self) -> None:
        mode = "greedy" if self.greedy else "sampled (temperature 0.7)"
        self.query_one("#pg-title", Static).update(Text.assemble(
            ("Playground ", "bold"), f"{self.run.name} · {self.source} · {mode}"))

    def _status(self, message: str, style: str = "dim") -> None:
        self.query_one("#pg-status", Static).update(Text(message, style=style))

    @work(thread=True, group="playground", exit_on_error=False)
    def _read_events(self, session: PlaygroundSession) -> None:
        for event in session.events():
            self.app.call_from_thread(self.on_engine_event, event, session)

    def on_engine_event(self, event: dict[str, Any], session: PlaygroundSession | None = None) -> None:
        if session is not None and session is not self.session:
            return  # the last words of a session this screen has replaced
        kind = event["event"]
        if kind == "ready":
            self.busy = False
            probes = self.query_one("#pg-probes", OptionList)
            probes.add_options(event["probes"])
            rewards = ", ".join(event["rewards"]) or "none (the run has no reward functions)"
            self._status(f"ready · reward functions: {rewards} · pick a dataset prompt above or type your own")
        elif kind == "progress":
            self._status(event["message"])
        elif kind == "token":
            self.texts[event["side"]] = self.texts.get(event["side"], "") + event["text"]
            self.query_one(f"#pg-{event['side']}-text", Static).update(self.texts[event["side"]])
        elif kind == "answer":
            self._show_answer(event)
        elif kind == "done":
            self.busy = False
            if set(self.answers) == {"base", "tuned"}:
                self.query_one("#pg-tally", AskedTally).record(self.answers["base"]["rewards"],
                                                               self.answers["tuned"]["rewards"])
            notes = "; ".join(event.get("notes") or [])
            self._status("answered" + (f" · {notes}" if notes else ""), "yellow" if notes else "dim")
        elif kind == "error":
            from engine.contract.user_traceback import user_report

            self.busy = bool(event.get("fatal"))
            self._status(user_report(event["message"], event.get("traceback"), event.get("log")), "bold red")

    def _show_answer(self, event: dict[str, Any]) -> None:
        side = event["side"]
        self.answers[side] = event
        self.query_one(f"#pg-{side}-text", Static).update(event["text"] or Text("(empty answer)", style="dim"))
        end = "stopped at end-of-turn" if event["stopped"] else "hit the token limit"
        parts = [f"{event['tokens']} tokens in {event['seconds']:.2f} s, {end}"]
        parts += [f"{name} {value:.3f}" if value is not None else f"{name} –"
                  for name, value in event["rewards"].items()]
        self.query_one(f"#pg-{side}-rewards", Static).update(Text(" · ".join(parts), style="cyan"))

    def ask(self, request: dict[str, Any]) -> None:
        if self.busy or self.session is None:
            self.notify("the playground is busy; wait for the answers", severity="warning")
            return
        self.busy = True
        self.texts, self.answers = {}, {}
        for side in SIDES:
            self.query_one(f"#pg-{side}-text", Static).update("")
            self.query_one(f"#pg-{side}-rewards", Static).update("")
        self._status("answering: tuned first, then base…")
        self.session.ask({**request, "greedy": self.greedy, "temperature": 0.7, "max_new_tokens": 128})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.notify("type a prompt first", severity="warning")
            return
        self.ask({"prompt": event.value})

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#pg-prompt", Input).value = str(event.option.prompt)
        self.ask({"probe": event.option_index})

    def action_toggle_greedy(self) -> None:
        self.greedy = not self.greedy
        self._title()
