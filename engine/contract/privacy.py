"""No telemetry from any process that loads a model, and no token in what a run writes.

Every process that imports the training stack (the worker, export, playground,
dry run) switches telemetry off before it imports anything that could phone
home: the Hugging Face hub's (``HF_HUB_DISABLE_TELEMETRY``, and the general
``DO_NOT_TRACK`` it also honours) and Unsloth's usage statistics
(``UNSLOTH_DISABLE_STATISTICS``). These are set, not defaulted: a run's
privacy does not depend on what the shell happened to export.

A Hugging Face token reaches the hub only through the environment
(``HF_TOKEN``), which the worker inherits so it can download a gated model.
``RunConfig`` has no field for one (an unknown key is refused without echoing
its value), and nothing writes the environment into a run directory; a test
checks that a token never lands in ``config.toml``, ``events.jsonl``,
``status.json``, ``worker.log``, a checkpoint, a preset or an export.
"""

from __future__ import annotations

import os
from typing import MutableMapping

TELEMETRY_OFF = {"HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "UNSLOTH_DISABLE_STATISTICS": "1"}


def no_telemetry(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Switch telemetry off in ``env`` (this process's environment by default); returns it."""
    env = os.environ if env is None else env
    env.update(TELEMETRY_OFF)
    return env
