"""Planning: what a run will do and whether it can, decided before any model loads.

Its stages (``stages``), the pre-flight check behind the Setup verdict, ``t``
and ``rft train`` (``preflight``), and the GPU memory estimate (``memory_estimate``,
``device_memory``). Pure Python: the Setup screen and the worker both use it.
"""
