"""The rft engine: config schema, run directories, the worker and the trainers.

The pure-Python parts (``config``, ``protocol``, ``runs``, ``launch``,
``methods`` registry) import no torch, so the UI may use them freely. Everything
that touches torch, transformers, trl, peft or unsloth imports it lazily inside
functions that only the worker calls.
"""
