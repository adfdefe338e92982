"""The rft engine, in rooms that read like the data flow (each imports only the rooms below it):

- ``contract``, ``methods``, ``rewards``: the run schema and everything the UI and every
  process share (run directories, events, launching), the method and reward catalogs;
- ``data``: datasets, their formats and checks;
- ``models``: finding a base model, its chat template, loading it with LoRA;
- ``planning``: a run's stages, the pre-flight check and memory estimate, before any model loads;
- ``export``: adapter, merged and GGUF exports;
- ``generation``: rollouts, the playground and the reward dry run;
- ``training``: the worker process and each method's trainer.

The UI may import every room up to ``planning`` and the top of ``export``: none of them
imports torch, transformers, trl, peft or unsloth, even inside a function. The rules are
declared in ``pyproject.toml`` (``[tool.importlinter]``) and checked by the test suite.
"""
