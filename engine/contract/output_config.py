"""The ``[output]`` section: where a run's directory goes and what it is called."""

from __future__ import annotations

from pydantic import Field, field_validator

from engine.contract.schema_base import StrictModel


class OutputConfig(StrictModel):
    """Where the run directory goes."""

    runs_dir: str = Field("runs", description="Folder that holds run directories.")
    run_name: str | None = Field(
        None, description="Name of the run directory; default '<method>-<model>-<MMDD-HHMM>'."
    )

    @field_validator("run_name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value or value.startswith(".")):
            raise ValueError("must be a plain folder name (no '/', not starting with '.')")
        return value
