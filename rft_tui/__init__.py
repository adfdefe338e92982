"""rft's user-facing side: the command line (``rft_tui.cli``) and the Textual app
(``rft_tui.app``) that ``rft`` with no command, or ``rft app``, opens.

Nothing in this package imports torch, transformers, trl, peft or unsloth; it
talks to the engine worker through run directories only.
"""

__version__ = "0.1.0"
