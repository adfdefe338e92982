"""The base class of every config section: unknown keys are errors, and so are emptied values."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, PydanticUndefined


def _takes_none(annotation: Any) -> bool:
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return union and type(None) in typing.get_args(annotation)


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and validates on assignment.

    A blank value for a field that cannot be unset (an emptied form field, ``--set key=``) is refused
    with the field's default in the message, rather than silently becoming the default or an empty name.
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
            if _takes_none(field.annotation) or field.default == "":
                continue  # blank means unset here, or is a value of its own
            default = field.get_default(call_default_factory=True)
            hint = "" if default is PydanticUndefined else f" (the default is {default!r})"
            errors.append(InitErrorDetails(type=PydanticCustomError("blank", "is empty; type a value{hint}",
                                                                    {"hint": hint}), loc=(key,), input=value))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
