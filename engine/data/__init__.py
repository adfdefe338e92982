"""Load a dataset, detect its format, check it against the method, normalise it.

Everything here runs before any model is loaded, so a wrong column or an empty
row costs the user seconds, not a model load. Rows are read with the standard
library where we can (jsonl/json) so that errors name the file and line.

Formats (what ``detect_format`` returns) and the columns they need:

- ``messages``: a list of ``{"role", "content"}`` turns (ShareGPT's
  ``conversations`` with ``from``/``value`` is converted);
- ``prompt_completion``: ``prompt`` and ``completion`` (Alpaca's
  ``instruction``/``input``/``output`` is converted);
- ``text``: raw ``text``;
- ``preference`` (DPO, ORPO, RM): ``prompt``, ``chosen``, ``rejected``; the
  prompt may be left out when ``chosen`` and ``rejected`` are whole
  conversations sharing their beginning, which then becomes the prompt;
- ``unpaired`` (KTO): ``prompt``, ``completion`` and a true/false ``label``;
- ``prompt_only`` (GRPO, PPO): ``prompt``; the row's other columns (such as a
  reference ``answer``) are kept for reward functions.

Normalised rows, with ``chat`` (the model has a chat template) / without:

- ``{"messages": [turns]}``
- ``{"prompt": [system?, user], "completion": [assistant]}`` / two strings
- ``{"text": str}``
- ``{"prompt": [system?, user], "chosen": [assistant], "rejected": [assistant]}`` / three strings
- ``{"prompt": [system?, user], "completion": [assistant], "label": bool}`` / strings and a bool
- ``{"prompt": [system?, user], **other columns}`` / a string and the other columns

Without ``chat`` the system prompt is put before the prompt, separated by a blank line.
"""

from __future__ import annotations

from engine.data.errors import DatasetError, PreparedDataset
from engine.data.formats import COLUMN_SETTINGS, FORMAT_COLUMNS, OPTIONAL_COLUMNS, detect_format
from engine.data.lengths import check_lengths, count_truncated, probe_prompts
from engine.data.rows import prepare
from engine.data.sources import ASSETS_DIR, builtin_datasets, load_rows

__all__ = [
    "ASSETS_DIR", "COLUMN_SETTINGS", "FORMAT_COLUMNS", "OPTIONAL_COLUMNS", "DatasetError", "PreparedDataset",
    "builtin_datasets", "check_lengths", "count_truncated", "detect_format", "load_rows", "prepare", "probe_prompts",
]
