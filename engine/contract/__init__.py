"""The contract: what the UI and every engine process share, in pure Python.

The run schema (``config``, ``schema_base``) and its presets; the run
directory (``runs``), its events protocol (``protocol``), status and control
files; starting a worker (``launch``); summaries of past runs; atomic file
writes; error wording for people (``user_traceback``, ``wording``). Nothing
here imports torch, or any engine room but the method and reward catalogs the
schema names, so the UI may import all of it.
"""
