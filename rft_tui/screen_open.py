"""Opening a screen without holding the event loop: what Textual would redo, and what can come early.

Textual restyles the whole app when a screen is first shown (its CSS, every
widget's default CSS and the app's, parsed again and applied to every widget
of the screen still in view): ~75 ms on a small CPU each time, and twice when a
mode's screen is first shown. A screen made a moment ago has nothing to
restyle (its widgets take their styles as they mount, from CSS already
parsed), so ``styled_now`` marks it as styled at the app's present CSS.
Should the app's CSS change later (a new theme), Textual restyles it as any.

``warm_imports`` imports, in a thread beside the event loop, the modules of
screens a person is likely to open next (the dashboard and its chart library:
~40 ms of imports), so opening them does not wait on the import.
"""

from __future__ import annotations

import importlib
import threading

from textual.screen import Screen

# The dashboard is what a person opens from Setup (Train) and from Runs (a run).
LIKELY_NEXT = ("rft_tui.screens.dashboard",)


def styled_now(screen: Screen) -> Screen:
    """``screen``, marked as styled at the running app's present CSS."""
    try:
        app = screen.app
    except Exception:  # no running app (a screen made outside one): Textual styles it when shown
        return screen
    screen._css_update_count = app._css_update_count
    return screen


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the import is made again where the screen is opened, and fails there clearly
            return


def warm_imports(modules: tuple[str, ...] = LIKELY_NEXT) -> None:
    """Import ``modules`` in a daemon thread (a screen's factory imports them again, then at no cost)."""
    threading.Thread(target=_import_all, args=(modules,), name="rft-warm-imports", daemon=True).start()
