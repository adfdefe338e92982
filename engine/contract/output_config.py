"""The ``[output]`` section: where a run's directory goes, what it is called, and which trackers it feeds."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from engine.contract.schema_base import StrictModel


Tracker = Literal["tensorboard", "trackio", "wandb"]
TRACKERS: tuple[str, ...] = ("tensorboard", "trackio", "wandb")


class OutputConfig(StrictModel):
    """Where the run directory goes, and the experiment trackers that receive its metrics."""

    runs_dir: str = Field("runs", description="Folder that holds run directories.")
    run_name: str | None = Field(
        None, description="Name of the run directory; default '<method>-<model>-<MMDD-HHMM>'."
    )
    report_to: list[Tracker] = Field(
        default_factory=list, description="Experiment trackers that also receive the run's metrics, config and "
        "samples, written into the run directory: any of tensorboard, trackio, wandb, separated by commas "
        "(W&B stays offline unless WANDB_API_KEY is set). Empty: rft's own dashboard only.")

    @field_validator("report_to", mode="before")
    @classmethod
    def _tracker_words(cls, value: Any) -> Any:
        # The form and --set give one line of words: 'tensorboard, wandb'.
        if isinstance(value, str):
            value = [word for word in re.split(r"[\s,]+", value.strip().lower()) if word]
        if isinstance(value, list):
            return list(dict.fromkeys(value))  # each tracker once
        return value

    @field_validator("run_name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value or value.startswith(".")):
            raise ValueError("must be a plain folder name (no '/', not starting with '.')")
        return value
