"""The model picker on Setup: ctrl+o on model.name lists the models here with fit badges, enter fills the field
and the verdict follows; escape leaves it as it was (Pilot at 120×36, and a snapshot of the dialog)."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import DataTable

from engine.planning.memory_estimate import GIB
from engine.planning.model_fit import AvailableMemory
from rft_tui.app import RftApp
from rft_tui.screens.pick_model import PickModel
from rft_tui.widgets.config_form import ConfigForm
from tests.fixtures.fake_hub_cache import QWEN_05B_CONFIG, THINKING_TEMPLATE, add_cached_model, fill_cache
from tests.tui.test_app import SIZE, _set, _until
from tests.tui.test_keyboard_flow import footer_keys
from tests.tui.test_setup_verdict import _verdict


def _use_cache(monkeypatch, hf_home) -> None:
    """Point every reader at ``hf_home``: rft's own (which reads the environment when called) and
    huggingface_hub's (which read it once, at import: the verdict's cache lookup goes through it)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))


def _rows(table: DataTable) -> dict[str, list[str]]:
    return {str(row[0]): [str(cell) for cell in row] for row in (table.get_row_at(i) for i in range(table.row_count))}


def test_ctrl_o_on_model_name_picks_a_cached_model_and_the_verdict_follows(tmp_path, monkeypatch, tiny_model_dir):
    _use_cache(monkeypatch, tmp_path / "hf")
    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "rft-cache"))
    monkeypatch.delenv("RFT_RECENT_MODELS")  # the list in this cache, not the suite's own
    fill_cache(tmp_path / "hf" / "hub", tiny_model_dir)

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: "ready" in _verdict(app), timeout=30, what="the first verdict")
            field = await app.screen.query_one(ConfigForm).reveal("model.name")
            field.focus()
            assert (await footer_keys(pilot, app.screen)).get("ctrl+o") == "pick a model"
            await _set(app, "model.name", "org/missing")
            await _until(pilot, lambda: "In the cache: org/broken, org/plain" in _verdict(app), timeout=30,
                         what="the verdict naming the cached models")

            await pilot.press("ctrl+o")
            await _until(pilot, lambda: isinstance(app.screen, PickModel), what="the picker")
            table = app.screen.query_one(DataTable)
            await _until(pilot, lambda: table.row_count == 5, timeout=30, what="the catalog")
            rows = _rows(table)
            assert list(rows) == ["default", "org/broken", "org/plain", "org/qwen-shaped", "org/tiny"]
            assert rows["org/tiny"][1:2] + rows["org/tiny"][4:6] == ["cache", "yes", "switch"]
            assert rows["org/plain"][4:6] == ["no", "—"] and rows["default"][2] == "135M"
            for name in ("default", "org/plain", "org/qwen-shaped", "org/tiny"):  # this machine's memory decides
                assert rows[name][6].split(" · ")[0] in {"fits", "tight", "won't fit"}, rows[name]
            assert rows["org/broken"][6] == "?"
            status = str(app.screen.query_one("#pick-model-status").render())
            assert "for SFT, batch" in status and f"Hugging Face cache: {tmp_path / 'hf' / 'hub'} (4 models)" in status

            table.move_cursor(row=1)  # the broken one is refused, and the dialog stays
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, PickModel) and field.value == "org/missing"
            assert any("config.json is not valid JSON" in n.message for n in app._notifications)

            table.move_cursor(row=4)
            await pilot.press("enter")
            await _until(pilot, lambda: not isinstance(app.screen, PickModel), what="the picker to close")
            assert field.value == "org/tiny"
            await _until(pilot, lambda: "ready" in _verdict(app) and "on org/tiny" in _verdict(app), timeout=60,
                         what="the verdict on the picked model")
            assert app.screen.config.model.name == "org/tiny"

            await pilot.press("ctrl+o")
            await _until(pilot, lambda: isinstance(app.screen, PickModel), what="the picker again")
            table = app.screen.query_one(DataTable)
            await _until(pilot, lambda: table.row_count == 5, timeout=30, what="the catalog again")
            assert table.cursor_row == 4  # it opens on the model in the field, which kept the focus
            await pilot.press("escape")
            await _until(pilot, lambda: not isinstance(app.screen, PickModel), what="escape")
            assert field.value == "org/tiny"

    asyncio.run(scenario())


def test_the_picker_key_shows_only_on_model_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))

    async def scenario() -> None:
        app = RftApp(runs_dir=tmp_path / "runs")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            field = await app.screen.query_one(ConfigForm).reveal("dataset.source")
            field.focus()
            keys = await footer_keys(pilot, app.screen)
            assert "ctrl+b" in keys and "ctrl+o" not in keys
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert not isinstance(app.screen, PickModel)

    asyncio.run(scenario())


@pytest.fixture
def fixed_cache(tmp_path, monkeypatch):
    """A cache of config files only (fixed sizes on disk), under relative paths so the text is the same
    everywhere, and a fresh rft cache: the built-in model shows as not yet converted."""
    monkeypatch.chdir(tmp_path)
    _use_cache(monkeypatch, tmp_path / "hf")
    monkeypatch.setenv("HF_HOME", "hf")  # shown as 'hf/hub'
    monkeypatch.setenv("RFT_CACHE_DIR", "rft-cache")
    monkeypatch.delenv("RFT_RECENT_MODELS")  # the list in this cache, not the suite's own
    small = {**QWEN_05B_CONFIG, "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "num_hidden_layers": 16,
             "intermediate_size": 8192, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256}
    big = {**small, "hidden_size": 8192, "num_hidden_layers": 80, "intermediate_size": 28672, "num_attention_heads": 64}
    hub = tmp_path / "hf" / "hub"
    template = json.dumps({"chat_template": THINKING_TEMPLATE}).encode()
    add_cached_model(hub, "Qwen/Qwen2.5-0.5B-Instruct", {"config.json": json.dumps(QWEN_05B_CONFIG).encode(),
                                                         "tokenizer_config.json": template})
    add_cached_model(hub, "meta-llama/Llama-3.2-1B", {"config.json": json.dumps(small).encode()})
    add_cached_model(hub, "meta-llama/Llama-3.1-70B", {"config.json": json.dumps(big).encode()})
    add_cached_model(hub, "someone/broken-download", {"config.json": b'{"hidden_size": 5'})


def test_model_picker_snapshot(snap_compare, fixed_cache):
    async def open_picker(pilot) -> None:
        await _until(pilot, lambda: "ready" in _verdict(pilot.app), timeout=30, what="the verdict")
        # A fixed amount of memory: the badges would otherwise follow this machine's free RAM.
        picker = PickModel(pilot.app.screen.config, current="default", available=AvailableMemory(16 * GIB, "cpu"))
        pilot.app.push_screen(picker)
        await _until(pilot, lambda: picker.is_mounted and picker.query_one(DataTable).row_count == 5, timeout=30,
                     what="the catalog")
        await pilot.pause()

    assert snap_compare(RftApp(runs_dir="runs"), terminal_size=SIZE, run_before=open_picker)
