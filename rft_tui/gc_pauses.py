"""Keeping Python's full garbage collections short, so they never stall the app.

A full collection walks every object the collector tracks. Once the app is up
that is ~140,000 objects (Textual's styles and widgets, the modules), and the
screens' redraws leave cyclic garbage behind (render caches), so a full
collection came every second or two and took 70–150 ms: the dashboard's worst
stall. ``settle()`` moves what is alive now into the collector's permanent
generation (``gc.freeze``), which later collections skip: they then walk only
what was made since, and take a few milliseconds.

It is called where what is alive will live as long as the app: when the app is
made (the modules imported), once it has drawn its first screen, and once the
dashboard (and the chart library it imports) has. An object frozen that later
becomes cyclic garbage is never freed, so it is not called on every redraw; nor
does it collect first (that would be the very stall it saves): the little
garbage alive then stays.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Let later full collections skip everything alive now."""
    gc.freeze()
