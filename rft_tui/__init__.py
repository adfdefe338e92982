"""rft's user-facing side: the command line and (soon) the Textual app.

Nothing in this package imports torch, transformers, trl, peft or unsloth; it
talks to the engine worker through run directories only.
"""

__version__ = "0.1.0"
