"""Training: the worker process (``python -m engine.training.worker RUN_DIR``) and its machinery.

The worker plans a run's stages and runs each with a ``stage_runner``; the
``bridge`` turns trainer callbacks into events; ``trainer_context`` hands a
method's trainer builder everything it needs; ``oom_recovery`` shrinks a stage
that ran out of memory; ``trainers/`` builds each method's trainer. Imports
torch: the UI never imports this package.
"""
