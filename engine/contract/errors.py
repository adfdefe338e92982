"""Errors in words for people: the base of rft's own errors, and how any other error is told.

rft's own errors (a bad config, dataset, model, reward file, export, or a run
that cannot shrink to fit) are ``ExplainedError``s: their message already says
what is wrong, where, and how to fix it. Every engine process reports a failure
through ``describe_error``, so the person reads the same words from the worker,
the dry run, the playground and the export.
"""

from __future__ import annotations


class ExplainedError(Exception):
    """An error whose message is written for the person: what is wrong, where, and what to do."""


def describe_error(error: BaseException) -> str:
    """The error in words: our own errors already are; others get their type."""
    if isinstance(error, ExplainedError):
        return str(error)
    if is_out_of_memory(error):  # outside training (loading, saving): no smaller batch helps
        return (f"Out of memory outside training ({first_line(error)}): the model itself does not "
                "fit. Set model.load_in_4bit = true (CUDA), use a smaller model, or free GPU memory.")
    if isinstance(error, OSError) and error.errno == 28:
        return "The disk is full; free some space and resume the run."
    return f"{type(error).__name__}: {error}"


def is_out_of_memory(error: BaseException) -> bool:
    """True for torch's OutOfMemoryError, or a RuntimeError saying 'out of memory', here or in its causes.

    Matched by name and text so this module needs no torch; libraries (accelerate, TRL) sometimes wrap it.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "OutOfMemoryError" or (
                isinstance(current, RuntimeError) and "out of memory" in str(current).lower()):
            return True
        current = current.__cause__ or current.__context__
    return False


def first_line(error: BaseException) -> str:
    """An OOM message's first line (CUDA's goes on about allocator settings)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
