"""Widgets of the rft dashboard, one per file."""
