"""The footer of keys, rebuilt only when the keys it shows change.

Textual's footer rebuilds all its keys whenever the focused widget's
bindings are re-announced, which happens on every focus move: three full
rebuilds before the first screen settles, two more on every Tab between form
fields. Most of those leave the same keys on show.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A ``Footer`` that skips a rebuild when the shown keys, their labels and enabled states are unchanged."""

    _shown: tuple | None = None

    def _keys(self, screen: Screen) -> tuple:
        return tuple((binding.key, binding.action, binding.description, enabled, tooltip)
                     for _, binding, enabled, tooltip in screen.active_bindings.values() if binding.show)

    def bindings_changed(self, screen: Screen) -> None:
        keys = self._keys(screen)
        if self._bindings_ready and keys == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = keys  # what the rebuild it asked for will show
