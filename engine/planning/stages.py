"""Split a run into stages: a warm-start preset first, RM before PPO.

Most runs are one stage. Two things add stages, all inside one run directory:

- ``model.start_from = "<preset>"``: the preset (e.g. ``sft``) trains first,
  on this run's base model, and the next stage continues its adapter. (A run
  directory or an adapter folder there is loaded instead, with no extra stage.)
- ``method.name = "rm_ppo"``: a reward model trains on ``rm_dataset``, then PPO
  runs against it.

Earlier stages save under ``stages/<n>-<name>/``; the last stage writes the
run's own ``adapter/`` and ``checkpoints/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.contract.config import ConfigError, RunConfig
from engine.contract.presets import load_config, resolve_preset_path
from engine.contract.runs import RunDir, is_whole_model
from engine.methods import ppo, rm


@dataclass
class Stage:
    """One training stage: its config and where its results go."""

    index: int  # 1-based
    name: str
    config: RunConfig
    adapter_dir: Path
    checkpoints_dir: Path


def resolve_adapter(location: str) -> Path | None:
    """The adapter folder of a run directory or an adapter folder, or None if ``location`` is neither."""
    path = Path(location).expanduser()
    for candidate in (path / "adapter", path):
        if (candidate / "adapter_config.json").is_file():
            return candidate
    return None


def _warm_start_config(config: RunConfig) -> RunConfig | None:
    start = config.model.start_from
    if not start or resolve_adapter(start) is not None:
        return None
    whole = next((str(p) for p in (Path(start) / "adapter", Path(start)) if is_whole_model(p)), None)
    if whole:
        raise ConfigError([("model.start_from", f"{start!r} holds a whole fine-tuned model (lora.enabled = false), "
                            f"not an adapter; to train on from it, set model.name = {whole!r} and leave "
                            "model.start_from empty")])
    if Path(start).exists() and not Path(start).is_file():
        raise ConfigError([("model.start_from", f"{start!r} is a folder without an adapter "
                            "(adapter_config.json); give a finished run directory or its adapter/ folder")])
    try:
        resolve_preset_path(start)
    except ConfigError:
        raise ConfigError([("model.start_from", f"{start!r} is not a run directory, an adapter folder or a "
                            "preset")]) from None
    warm = load_config(start)
    if warm.model.start_from:
        raise ConfigError([("model.start_from", f"the preset {start!r} itself starts from another result; "
                            "chain at most one warm-start stage")])
    model = warm.model.model_copy(update={"name": config.model.name, "revision": config.model.revision,
                                          "backend": config.model.backend, "load_in_4bit": config.model.load_in_4bit,
                                          "dtype": config.model.dtype})
    return warm.model_copy(update={"model": model, "output": config.output})


def stage_configs(config: RunConfig) -> list[tuple[str, RunConfig]]:
    """Each stage's method name and config, in order, before they are wired to each other's results
    (pure Python: the pre-flight check reads them too)."""
    planned: list[tuple[str, RunConfig]] = []
    warm = _warm_start_config(config)
    if warm is not None:
        planned.append((warm.method_name, warm))
        config = config.model_copy(deep=True)
    if config.method_name == "rm_ppo":
        m = config.method
        rm_cfg = config.model_copy(update={
            "method": rm.Params(),
            "dataset": config.dataset.model_copy(update={"source": m.rm_dataset, "format": "auto",
                                                         "prompt_column": None}),
            "training": config.training.model_copy(update={"max_steps": m.rm_steps,
                                                           "learning_rate": m.rm_learning_rate}),
            "model": config.model.model_copy(update={"start_from": None}),
            # The reward model is scored on preference pairs held out of its own data; what the user's
            # [eval] asks (a source of prompts, a metric, early stopping, the best step) is the policy's.
            "eval": config.eval.model_copy(update={"source": None, "metric": "auto", "patience": 0,
                                                   "keep_best": False}),
        })
        ppo_fields = {k: v for k, v in m.model_dump().items() if k in ppo.Params.model_fields and k != "name"}
        planned.append(("rm", rm_cfg))
        planned.append(("ppo", config.model_copy(update={"method": ppo.Params(**ppo_fields)})))
    else:
        planned.append((config.method_name, config))
    return planned


def plan_stages(config: RunConfig, run: RunDir) -> list[Stage]:
    """The stages of ``config``, in order; the last one is the run's result."""
    planned = stage_configs(config)
    stages = []
    for i, (name, cfg) in enumerate(planned, start=1):
        last = i == len(planned)
        home = run.path if last else run.path / "stages" / f"{i}-{name}"
        stages.append(Stage(i, name, cfg, home / "adapter", home / "checkpoints"))
    # Wire the results: each causal stage continues the previous causal stage's adapter;
    # PPO after an RM stage scores with that reward model.
    previous_policy: Path | None = None
    reward_model: Path | None = None
    for stage in stages:
        updates = {}
        if previous_policy is not None and stage.name != "rm":
            updates["model"] = stage.config.model.model_copy(update={"start_from": str(previous_policy)})
        if stage.name == "ppo" and reward_model is not None and stage.config.method.reward_model is None:
            updates["method"] = stage.config.method.model_copy(update={"reward_model": str(reward_model)})
        if updates:
            stage.config = stage.config.model_copy(update=updates)
        if stage.name == "rm":
            reward_model = stage.adapter_dir
        else:
            previous_policy = stage.adapter_dir
    return stages
