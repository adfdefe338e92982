"""Take the README's screenshots (SVG) of Setup, a run's dashboard and its samples.

    python scripts/screenshots.py RUN_DIR [--out assets/screenshots]

RUN_DIR should be a finished run with samples (a GRPO run shows everything).
The app is driven headless at 120×36, the size the screens are designed for.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from textual.widgets import OptionList

from engine.contract.runs import find_run
from rft_tui.app import RftApp

SIZE = (120, 36)


async def take(run_dir: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    run = find_run(run_dir)
    written = []
    app = RftApp(runs_dir=run.path.parent)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        presets = app.screen.query_one("#preset-list", OptionList)
        ids = [presets.get_option_at_index(i).id for i in range(presets.option_count)]
        presets.focus()
        presets.highlighted = ids.index("grpo")
        await pilot.press("enter")
        await pilot.pause(0.5)
        written.append(Path(app.save_screenshot(str(out / "setup.svg"))))
    app = RftApp(runs_dir=run.path.parent, open_run=run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        written.append(Path(app.save_screenshot(str(out / "dashboard.svg"))))
        await pilot.press("m")
        await pilot.pause(0.5)
        written.append(Path(app.save_screenshot(str(out / "samples.svg"))))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run directory")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "assets" / "screenshots"))
    args = parser.parse_args()
    for path in asyncio.run(take(args.run, Path(args.out))):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
