"""The base class of every config section: unknown keys are errors, and so are emptied values."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, PydanticUndefined


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and validates on assignment.

    A blank value (an emptied form field, ``--set key=``) is refused with the field's default in the
    message, rather than silently becoming the default or an empty name, unless blank is the field's
    default itself (an optional column name, an empty description, no trackers).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _no_blank_values(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        errors = []
        for key, value in data.items():
            field = cls.model_fields.get(key)
            if field is None or not isinstance(value, str) or value.strip():
                continue
            default = field.get_default(call_default_factory=True)
            if default is None or default == "" or default == []:
                continue  # blank is what the field holds by default: unset, empty text, no items
            hint = "" if default is PydanticUndefined else f" (the default is {default!r})"
            errors.append(InitErrorDetails(type=PydanticCustomError("blank", "is empty; type a value{hint}",
                                                                    {"hint": hint}), loc=(key,), input=value))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
