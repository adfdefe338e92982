"""The top-level screens of the rft app, one per file."""
