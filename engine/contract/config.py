"""One schema for a run: ``RunConfig``, saved and loaded as TOML presets.

A preset is a ``RunConfig`` written as TOML. The CLI reads the same TOML and
applies ``--set section.key=value`` overrides; the TUI builds its form from the
fields below (descriptions become help text, bounds become validation). Unknown
keys and out-of-range values raise ``ConfigError`` naming the field path.
Adding a hyper-parameter means adding one field here or in a method's
``Params``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, Union

import tomli_w
from pydantic import Field, ValidationError, field_validator, model_validator

from engine.contract.atomic_files import atomic_write_text
from engine.contract.distributed_config import DistributedConfig
from engine.contract.errors import ExplainedError
from engine.contract.eval_config import EvalConfig, eval_metrics
from engine.contract.output_config import OutputConfig
from engine.contract.schema_base import StrictModel
from engine.contract.template_setting import setting_problem
from engine.contract.training_config import FULL_FINE_TUNING_METHODS, LoraConfig, TrainingConfig
from engine.methods import METHODS
from engine.rewards import BUILTIN_REWARDS, make_reward

DEFAULT_MODEL = "default"
PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"


class ConfigError(ExplainedError, ValueError):
    """A config that cannot be used, with one ``(field path, reason)`` per problem."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = [f"{where}{path}: {reason}" if path else f"{where}{reason}" for path, reason in problems]
        super().__init__("\n".join(lines))


class ModelConfig(StrictModel):
    """Which base model to fine-tune and how to load it."""

    name: str = Field(
        DEFAULT_MODEL,
        description="'default' (SmolLM2-135M-Instruct, shipped with rft), a local "
        "model folder, or a Hugging Face id such as 'Qwen/Qwen2.5-0.5B-Instruct'. In Setup, ctrl+o picks one "
        "of the models on this machine, with whether it fits.",
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) of a Hugging Face id.")
    backend: Literal["auto", "unsloth", "transformers"] = Field(
        "auto",
        description="'auto' uses Unsloth when CUDA is present and unsloth is installed, "
        "else transformers + PEFT.",
    )
    load_in_4bit: bool = Field(False, description="QLoRA: load the base weights in 4 bits (CUDA only).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Compute dtype; 'auto' is bfloat16 on a GPU that supports it, float32 on CPU."
    )
    max_seq_length: int = Field(512, ge=16, le=131072, description="Longest sequence in tokens; longer rows are truncated.")
    chat_template: str = Field(
        "auto", description="How chats are written for the model: 'auto' (the tokenizer's own), a named template "
        "for a base model that has none ('chatml', 'llama3', 'gemma', 'qwen3'), or the path of a .jinja file. "
        "Its end-of-turn token becomes the stop token of training, sampling and exports.")
    enable_thinking: bool | None = Field(
        None, description="For templates with a thinking switch (Qwen3 style): true lets the model reason in "
        "<think>…</think> before answering, false makes it answer at once. Saved with the adapter and exports. "
        "Unset: the template's own default.")
    @field_validator("chat_template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        problem = setting_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    start_from: str | None = Field(
        None,
        description="Begin from an earlier result instead of the bare base model: a run directory or an "
        "adapter folder, or the name of a preset (e.g. 'sft') to run first as stage 1 of this run.",
    )


class DatasetConfig(StrictModel):
    """Where the training data comes from and how its columns map."""

    source: str = Field(
        "builtin:arithmetic-sft",
        description="'builtin:NAME', a local .jsonl/.json/.csv/.parquet file, or a Hugging Face dataset id.",
    )
    split: str = Field("train", description="Split of a Hugging Face dataset.")
    format: Literal["auto", "messages", "prompt_completion", "text", "preference", "unpaired", "prompt_only"] = Field(
        "auto", description="Row format; 'auto' detects it from the columns."
    )
    prompt_column: str | None = Field(None, description="Column holding the prompt (default 'prompt').")
    completion_column: str | None = Field(None, description="Column holding the answer (default 'completion').")
    messages_column: str | None = Field(None, description="Column holding a chat (default 'messages').")
    text_column: str | None = Field(None, description="Column holding raw text (default 'text').")
    chosen_column: str | None = Field(None, description="Column holding the preferred answer (default 'chosen').")
    rejected_column: str | None = Field(None, description="Column holding the worse answer (default 'rejected').")
    label_column: str | None = Field(None, description="Column holding a good/bad label for KTO (default 'label').")
    reasoning_column: str | None = Field(
        None, description="Column holding the reasoning that comes before each answer (default 'reasoning' or "
        "'thinking' when there is one); it is written as a <think>…</think> block, the way thinking models "
        "expect.")
    system_prompt: str | None = Field(None, description="System message put before every prompt.")
    max_rows: int | None = Field(None, ge=1, description="Use only the first N rows.")


class RewardSpec(StrictModel):
    """One reward function and its weight in the total reward."""

    name: str = Field(description="A built-in reward ('format', 'correctness', 'length'), or one of yours as "
                      "'FILE.py:FUNCTION' from your rewards folder.")
    weight: float = Field(1.0, description="Multiplier of this function's score in the total reward.")
    params: dict[str, Any] = Field(default_factory=dict, description="Arguments of the reward's factory, "
                                   "e.g. {column = 'answer'} for correctness.")

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if ":" in value:
            file, _, function = value.rpartition(":")
            if not file.endswith(".py") or not function.isidentifier():
                raise ValueError(f"{value!r}: a reward of yours is named 'FILE.py:FUNCTION'")
            return value
        if value not in BUILTIN_REWARDS:
            raise ValueError(f"unknown reward {value!r}; built-in rewards: {', '.join(sorted(BUILTIN_REWARDS))}, "
                             "or one of yours as 'FILE.py:FUNCTION'")
        return value

    @model_validator(mode="after")
    def _buildable(self) -> "RewardSpec":
        """A built-in reward is built once here (pure Python), so bad params fail when the preset loads."""
        if ":" not in self.name:
            try:
                make_reward(self.name, **self.params)
            except TypeError:
                wanted = ", ".join(BUILTIN_REWARDS[self.name].params)
                raise ValueError(f"reward {self.name!r} needs params ({wanted}), e.g. params = "
                                 f"{{ {BUILTIN_REWARDS[self.name].params[0]} = ... }}") from None
        return self


def _method_union() -> Any:
    models = tuple(spec.params for spec in METHODS.values())
    if len(models) == 1:
        return models[0]
    return Union[models]  # type: ignore[return-value]


MethodParams = _method_union()


class RunConfig(StrictModel):
    """The single description of a run: model, data, method, LoRA, training, eval, processes, output."""

    description: str = Field("", description="What this setup is for, shown beside the preset.")
    model: ModelConfig = Field(default_factory=ModelConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    method: MethodParams = Field(  # type: ignore[valid-type]
        default_factory=lambda: next(iter(METHODS.values())).params(),
        discriminator="name" if len(METHODS) > 1 else None,
        description="The training method and its parameters; 'name' picks the method.",
    )
    lora: LoraConfig = Field(default_factory=LoraConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    rewards: list[RewardSpec] = Field(default_factory=list, description="Reward functions for GRPO and PPO, "
                                      "and the scores shown beside sampled answers.")
    eval: EvalConfig = Field(default_factory=EvalConfig)
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @property
    def method_name(self) -> str:
        return self.method.name

    def eval_metrics(self, method: str | None = None) -> list[str]:
        """The eval metrics a stage training ``method`` (default: this run's) logs with these rewards."""
        spec = METHODS[method or self.method_name]
        names = [reward.name.rpartition(":")[2] for reward in self.rewards]
        return eval_metrics(spec.eval_loss_metrics, spec.answers, names)

    @property
    def unsloth_trains(self) -> bool:
        """Whether Unsloth's kernels can train this run: plain LoRA, in one process or DDP, generating without
        vLLM. Elsewhere 'auto' picks transformers+peft (the Setup verdict says so)."""
        return self.lora.unsloth_trains and not self.distributed.sharded and \
            getattr(self.method, "vllm_mode", "off") == "off"

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with this config as a whole, by key path: settings that are each valid but do not go
        with the method or the backend (an eval metric no stage logs, NEFTune outside SFT, DoRA on Unsloth)."""
        found = []
        if self.eval.metric != "auto":
            stages = METHODS[self.method_name].stages or (self.method_name,)
            logged = list(dict.fromkeys(m for stage in stages for m in self.eval_metrics(stage)))
            if self.eval.metric not in logged:
                found.append(("eval.metric", f"{METHODS[self.method_name].title} with these rewards does not log "
                              f"{self.eval.metric!r}; it logs {', '.join(logged) or 'no eval metric'} (or use 'auto')"))
        if self.training.neftune_noise_alpha is not None and self.method_name != "sft":
            found.append(("training.neftune_noise_alpha", f"NEFTune adds noise to the embeddings of SFT's "
                          f"demonstrations; {METHODS[self.method_name].title} does not use it. Remove the key, "
                          "or train with method.name = 'sft'."))
        if self.lora.use_dora and self.model.backend == "unsloth":
            found.append(("lora.use_dora", "Unsloth's fast kernels train plain LoRA, not DoRA; set model.backend = "
                          "'auto' (it picks transformers+peft for DoRA) or 'transformers', or lora.use_dora = false."))
        if not self.lora.enabled:
            found += self._full_fine_tuning_problems()
        if self.model.backend == "unsloth" and self.lora.unsloth_trains and not self.unsloth_trains:
            found.append(("model.backend", "Unsloth trains neither under ZeRO/FSDP sharding nor beside vLLM; set "
                          "model.backend = 'auto' (it picks transformers+peft for them), or "
                          "distributed.strategy = 'ddp' and method.vllm_mode = 'off'."))
        return found + self.distributed.problems(self.method_name, METHODS[self.method_name].title)

    def _full_fine_tuning_problems(self) -> list[tuple[str, str]]:
        why = "lora.enabled = false trains every weight"
        if self.method_name not in FULL_FINE_TUNING_METHODS:
            return [("lora.enabled", f"{why}, which rft offers for SFT and ORPO; {METHODS[self.method_name].title} "
                     "needs a frozen copy of the model beside the trained one (a reference or a second network), "
                     "twice the memory. Train it with LoRA (lora.enabled = true), or use method.name = 'sft' or "
                     "'orpo'.")]
        found = []
        if self.model.load_in_4bit:
            found.append(("model.load_in_4bit", f"{why}; 4-bit weights cannot be trained in full (QLoRA trains an "
                          "adapter on them). Set model.load_in_4bit = false, or lora.enabled = true."))
        if self.model.backend == "unsloth":
            found.append(("model.backend", f"{why} on transformers; set model.backend = 'auto' or 'transformers', "
                          "or lora.enabled = true."))
        if self.model.start_from:
            found.append(("model.start_from", f"{why} of model.name; to go on from a fully fine-tuned run, set "
                          "model.name to its adapter/ folder (which holds the whole model) and leave model.start_from "
                          "empty."))
        return found

    def to_toml(self) -> str:
        """The config as TOML; unset optional values are left out."""
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors():
        loc = list(item["loc"])
        if len(loc) > 1 and loc[0] == "method" and loc[1] in METHODS:
            del loc[1]  # pydantic names the union member; the user wrote method.<key>
        path = ".".join(str(part) for part in loc)
        reason = item["msg"]
        if item["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; see the preset reference in the README)"
        elif item["type"] == "blank":
            pass  # the reason already says it was left empty
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            reason = f"{reason} (got {item['input']!r})"
        problems.append((path, reason))
    return problems


def _check_method_name(data: dict[str, Any]) -> None:
    method = data.get("method")
    if isinstance(method, dict):
        name = method.get("name", next(iter(METHODS)))
        if name not in METHODS:
            known = ", ".join(sorted(METHODS))
            raise ConfigError([("method.name", f"unknown method {name!r}; choose one of: {known}")])
        method.setdefault("name", name)


def config_from_dict(data: dict[str, Any], source: str | None = None) -> RunConfig:
    """Validate a plain dict (parsed TOML) into a ``RunConfig``."""
    try:
        _check_method_name(data)
        config = RunConfig.model_validate(data)
        problems = config.problems()
        if problems:
            raise ConfigError(problems)
        return config
    except ConfigError as error:
        raise ConfigError(error.problems, source) from None
    except ValidationError as error:
        raise ConfigError(_problems(error), source) from None


def parse_toml(text: str, source: str | None = None) -> dict[str, Any]:
    """Parse TOML text, turning syntax errors into a ``ConfigError``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([("", f"not valid TOML: {error}")], source) from None


def save_config(config: RunConfig, path: str | Path, overwrite: bool = False) -> Path:
    """Write a config as TOML atomically; refuse to replace a file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another name or allow overwriting")
    atomic_write_text(path, config.to_toml())
    return path


def _parse_value(raw: str) -> Any:
    """A TOML value ('3', '2e-4', 'true', '["q_proj"]'), or the raw text as a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str | None = None) -> None:
    """Apply ``section.key=value`` overrides to parsed TOML in place."""
    problems = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(("--set", f"{item!r} is not of the form section.key=value"))
            continue
        parts = key.split(".")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append((key, f"{part!r} is a value, not a section"))
                break
            node = child
        else:
            node[parts[-1]] = _parse_value(raw.strip())
    if problems:
        raise ConfigError(problems, source)
