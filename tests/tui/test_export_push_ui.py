"""The export dialog's push to the Hub, driven by the Pilot: the repo id is checked as it is typed, and the
real export process pushes to a stand-in of the Hub on 127.0.0.1 (the real Hub is unreachable here)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Button, ProgressBar

from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from rft_tui.screens.export import ExportScreen
from tests.conftest import tiny_config, wait_final
from tests.fixtures.hub_stand_in import HubStandIn
from tests.tui.test_app import SIZE, _until

TOKEN = "hf_standInDialogToken"


@pytest.fixture
def finished_run(tiny_model_dir, tmp_path) -> RunDir:
    config = tiny_config(tiny_model_dir, tmp_path / "runs", eval={"every": 0},
                         training={"max_steps": 2, "sample_every": 0})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    return run


def _text(app: RftApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def test_the_dialog_checks_the_repo_as_it_is_typed_and_pushes_the_export(finished_run, tmp_path, monkeypatch):
    async def scenario(hub: HubStandIn) -> None:
        app = RftApp(runs_dir=finished_run.path.parent)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.push_screen(ExportScreen(finished_run))
            await _until(pilot, lambda: isinstance(app.screen, ExportScreen) and app.screen.query("#export-go"),
                         what="the export dialog")
            screen, go = app.screen, app.screen.query_one("#export-go", Button)
            assert str(go.label) == "Export"
            await pilot.click("#export-hub")
            await pilot.press(*"me/tiny lora")
            await pilot.pause()
            assert "may hold only letters" in _text(app, "#export-hub-check") and go.disabled
            await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace", *"-lora")
            await pilot.pause()
            assert "huggingface.co/me/tiny-lora" in _text(app, "#export-hub-check")
            assert str(go.label) == "Export and push" and not go.disabled
            await pilot.click("#export-private")
            await pilot.click("#export-go")
            await _until(pilot, lambda: not screen.running and "pushed" in _text(app, "#export-log"), timeout=180,
                         what="the export and the push")
            assert "✓ adapter reloads" in _text(app, "#export-log") and "(private)" in _text(app, "#export-log")
            bar = screen.query_one("#export-upload", ProgressBar)
            assert bar.display and bar.progress == bar.total > 0
            assert str(go.label) == "Push"  # the export exists now: pushing again sends it as it is

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with HubStandIn(TOKEN) as hub:
        # The export process inherits these: the stand-in's address, its token, no login cache of this machine.
        for name, value in {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf"),
                            "HF_HUB_DISABLE_XET": "1"}.items():
            monkeypatch.setenv(name, value)
        asyncio.run(scenario(hub))
    repo = hub.repos["me/tiny-lora"]
    export = finished_run.path / "exports" / "adapter"
    assert repo.private and repo.files["adapter_model.safetensors"] == (export / "adapter_model.safetensors").read_bytes()
