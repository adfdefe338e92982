"""The UI side never imports the training stack (so it starts fast and survives runs)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "peft", "unsloth", "datasets")
UI_MODULES = (
    "rft_tui", "rft_tui.cli", "rft_tui.follow", "rft_tui.app", "rft_tui.dry_run_client", "rft_tui.dry_run_report",
    "engine.contract.config", "engine.contract.protocol", "engine.contract.runs", "engine.contract.run_summary",
    "engine.contract.launch", "engine.contract.presets", "engine.contract.errors", "engine.contract.user_cache",
    "engine.methods", "engine.rewards", "engine.rewards.catalog", "engine.rewards.user_files", "engine.rewards.sandbox",
    "engine.rewards.needs", "engine.data", "engine.data.probes", "engine.models.resolve", "engine.models.chat_template",
    "engine.planning.stages", "engine.planning.preflight", "engine.planning.memory_estimate",
    "engine.planning.device_memory", "engine.export", "engine.training.oom_recovery",
)


def test_ui_and_pure_engine_modules_load_no_torch():
    code = (
        "import sys\n"
        f"for name in {UI_MODULES!r}: __import__(name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported: {result.stdout.strip()}"



def test_the_running_app_has_not_imported_torch(tmp_path):
    code = (
        "import asyncio, sys\n"
        "from rft_tui.app import RftApp\n"
        "async def main():\n"
        f"    app = RftApp(runs_dir={str(tmp_path)!r})\n"
        "    async with app.run_test(size=(120, 36)) as pilot:\n"
        "        await pilot.press('r'); await pilot.pause(); await pilot.press('d'); await pilot.pause()\n"
        "asyncio.run(main())\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported: {result.stdout.strip()}"
