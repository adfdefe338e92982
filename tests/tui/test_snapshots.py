"""Snapshots of each main screen with fixed data (pytest-textual-snapshot).

Update them after an intended change of look with ``pytest --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

import time

import pytest

from engine.contract.runs import RunDir
from rft_tui.app import RftApp
from tests.fixtures.fake_runs import failed_run, grpo_run

SIZE = (120, 36)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """Fixed runs under ./runs (a relative path, so the screens show the same text everywhere)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()  # the runs table shows local start times
    grpo_run(tmp_path / "runs")
    failed_run(tmp_path / "runs")
    return tmp_path / "runs"


async def _checked(pilot) -> None:
    """Wait until the dataset check has read the data, so the verdict is its final one, not "checking"."""
    from tests.tui.test_app import _until

    await _until(pilot, lambda: "ready" in str(pilot.app.screen.query_one("#verdict").render()), timeout=30,
                 what="the verdict")


async def _drawn(pilot) -> None:
    from tests.tui.test_app import charts_drawn

    await pilot.pause()
    await charts_drawn(pilot)


def test_setup_screen(snap_compare, runs):
    assert snap_compare(RftApp(runs_dir="runs"), terminal_size=SIZE, run_before=_checked)


def test_runs_screen(snap_compare, runs):
    assert snap_compare(RftApp(runs_dir="runs"), terminal_size=SIZE, press=["r"])


def test_dashboard_with_a_finished_grpo_run(snap_compare, runs):
    app = RftApp(runs_dir="runs", open_run=RunDir("runs/grpo-smollm2-135m-1121-0931"))
    assert snap_compare(app, terminal_size=SIZE, run_before=_drawn)


def test_dashboard_with_a_failed_run(snap_compare, runs):
    app = RftApp(runs_dir="runs", open_run=RunDir("runs/dpo-smollm2-135m-1121-0940"))
    assert snap_compare(app, terminal_size=SIZE, run_before=_drawn)


def test_two_runs_overlaid(snap_compare, runs):
    grpo_run(runs, name="grpo-smollm2-135m-1121-1012", steps=16, created=300, pace=0.3)
    # Newest first: the failed DPO run, then the two GRPO runs, which are marked and overlaid.
    async def overlay(pilot) -> None:  # the keys here, not in ``press``: that comes after ``run_before``
        await pilot.press("r", "down", "space", "down", "space", "o")
        await _drawn(pilot)

    assert snap_compare(RftApp(runs_dir="runs"), terminal_size=SIZE, run_before=overlay)
