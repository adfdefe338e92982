"""A bug of rft's that ends the app: the terminal gets the message and the log, not rft's traceback."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from textual.binding import Binding

import rft_tui.app
from rft_tui.app import RftApp
from tests.tui.test_app import SIZE

RFT_FRAME = re.compile(r'File "[^"]*[/\\](engine|rft_tui)[/\\]')


class PlantedBug(RftApp):
    """No bug of rft's is known to provoke for real, so one is planted behind a key: rft's own ``open_run``
    called with no run (bound directly, so that no frame of this file sits in between)."""

    CSS_PATH = str(Path(rft_tui.app.__file__).with_name("app.tcss"))
    BINDINGS = [*RftApp.BINDINGS, Binding("f9", "planted(None)", "planted", priority=True)]
    action_planted = RftApp.open_run


def test_a_crash_of_the_app_prints_its_message_and_where_the_traceback_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "cache"))
    app = PlantedBug(runs_dir=tmp_path / "runs")

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("f9")
            await pilot.pause()

    with pytest.raises(AttributeError):  # under Pilot, Textual raises the app's exception again at the end
        asyncio.run(scenario())
    printed = " ".join("".join(capsys.readouterr()).split())  # what Textual prints as the app ends, unwrapped
    log = tmp_path / "cache" / "logs" / "app.log"
    assert "rft app failed: AttributeError: " in printed
    # The terminal wraps a long path anywhere, even inside a name: compare without any whitespace.
    assert "".join(f"the full traceback is in {log}".split()) in "".join(printed.split())
    assert not RFT_FRAME.search(printed) and "Traceback" not in printed and "in open_run" not in printed
    assert RFT_FRAME.search(log.read_text()) and "in open_run" in log.read_text()
