"""Generation: a model answering prompts, outside the trainer's own loop.

``rollout`` samples answers and re-reads them token by token (PPO and the
probe sampler); ``playground`` and ``dry_run`` are processes of their own
(``python -m engine.generation.playground``, ``python -m engine.generation.dry_run``)
that the UI talks to through files and pipes, never by importing them.
"""
