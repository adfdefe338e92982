"""The pre-flight check: everything that can tell, before any model loads, that a run would fail.

Pure Python (no torch), so the Setup verdict, ``t`` in the app, ``rft train``
and the worker itself all ask the same ``check``, and a run started by any
route is refused, or adjusted, for the same reasons. It looks at every stage
of the run (``engine.planning.stages.stage_configs``) and finds:

- a dataset that does not exist or does not fit its stage's method;
- a reward function whose file is missing, does not parse, or lacks the
  function or ``**kwargs``, and one that reads a dataset column the data does
  not have. For GRPO and PPO (also RM+PPO's PPO stage) the rewards are what
  the model learns from, so that refuses the run. The other methods only score
  the sampled answers with them, so such a reward is left out of the stage
  with a warning (``Finding.drop_reward``) and the run goes on;
- a method that learns from rewards with neither a reward function nor a
  reward model, and a reward model folder that is not one;
- a base model that cannot be found (a folder, the built-in model, a Hugging
  Face id in the cache while the hub is offline), and a ``model.start_from``
  that is no run, adapter or preset;
- full fine-tuning (``lora.enabled = false``) whose memory estimate is more
  than the GPU's free memory, or the RAM, there is.

Reading a dataset is the one slow part: ``read_datasets`` does it and
``check`` takes its result, so the app can read in a thread, show "checking…"
meanwhile (``Report.pending``), and reuse what its dataset pane already read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from engine.contract.config import ConfigError, DatasetConfig, RunConfig
from engine.data.holdout import eval_dataset_config
from engine.methods import MethodSpec, get_method
from engine.methods.sft import PACKING_NEEDS
from engine.models.resolve import local_model_dir, model_problem, predict_backend
from engine.planning.capabilities import missing
from engine.planning.stages import stage_configs
from engine.rewards.needs import reward_needs
from engine.rewards.user_files import RewardError, is_outside

FULL_FINE_TUNING_MAX_LR = 1e-4  # above it a full fine-tune is warned (LoRA's usual rates are 1e-4 to 5e-4)

if TYPE_CHECKING:  # pragma: no cover
    from engine.data import PreparedDataset


@dataclass(frozen=True)
class DatasetReading:
    """What the check needs of one stage's dataset: why it cannot be used, or its format and the columns
    its reward functions receive."""

    error: str | None = None
    format: str | None = None
    rows: int = 0
    reward_columns: tuple[str, ...] = ()
    prompts: int = 0  # distinct prompts: what eval.size holds out a share of
    conversational: bool = False  # chats, which only a model with a chat template renders

    @classmethod
    def of(cls, prepared: "PreparedDataset") -> "DatasetReading":
        from engine.data.holdout import distinct_prompts

        return cls(format=prepared.format, rows=len(prepared.rows), reward_columns=tuple(prepared.extra_columns),
                   prompts=distinct_prompts(prepared.rows), conversational=prepared.conversational)


Reader = Callable[[DatasetConfig, MethodSpec], DatasetReading]


def reading_key(dataset: DatasetConfig, spec: MethodSpec) -> str:
    """What a reading depends on: the dataset settings and the formats the method accepts."""
    return f"{dataset.model_dump_json()}|{','.join(spec.formats)}"


def read_dataset(dataset: DatasetConfig, spec: MethodSpec) -> DatasetReading:
    """Load and check one dataset for a method (the slow part: it reads every row)."""
    from engine.data import DatasetError, prepare

    try:
        return DatasetReading.of(prepare(dataset, spec.formats, method=spec.title))
    except DatasetError as error:
        return DatasetReading(error=str(error))


@dataclass(frozen=True)
class Finding:
    """One thing the check found, on the config path it concerns; ``fatal`` ones refuse the run."""

    path: str
    message: str
    fatal: bool = True
    stage: int = 1  # 1-based, as the worker numbers stages
    drop_reward: int | None = None  # the index in that stage's rewards of one to leave out


@dataclass
class Report:
    """All findings of one check; ``pending`` while a dataset it needs has not been read yet."""

    findings: list[Finding] = field(default_factory=list)
    pending: bool = False
    eval_plan: str | None = None  # what the run's last stage evaluates on, in words (the Setup verdict says it)
    steps_plan: str | None = None  # how long the last stage trains, when given in epochs ('3 epochs = 90 steps')

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.fatal]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.fatal]

    def error(self) -> ConfigError:
        """The problems as the ``ConfigError`` the rest of rft reports."""
        return ConfigError([(f.path, f.message) for f in self.problems])

    def adjusted(self, stage: int, config: RunConfig) -> RunConfig:
        """``config`` of stage ``stage`` without the rewards this check leaves out."""
        drops = {f.drop_reward for f in self.warnings if f.stage == stage and f.drop_reward is not None}
        if not drops:
            return config
        return config.model_copy(update={"rewards": [r for i, r in enumerate(config.rewards) if i not in drops]})


@dataclass(frozen=True)
class _Stage:
    index: int
    name: str
    config: RunConfig
    dataset_path: str  # the setting that names this stage's dataset
    label: str  # how messages name the stage ('' for the user's own, the last)


def _plan(config: RunConfig) -> tuple[list[_Stage], list[Finding]]:
    findings = []
    try:
        planned = stage_configs(config)
    except ConfigError as error:
        findings = [Finding(path, reason) for path, reason in error.problems]
        # Check the rest as if there were no warm-start stage.
        planned = stage_configs(config.model_copy(update={"model": config.model.model_copy(
            update={"start_from": None})}))
    warm = len(planned) > (2 if config.method_name == "rm_ppo" else 1)
    stages = []
    for index, (name, cfg) in enumerate(planned, start=1):
        title = get_method(name).title
        if warm and index == 1:
            where = ("model.start_from", f"stage 1 ({title}, the preset {config.model.start_from!r}): ")
        elif name == "rm" and config.method_name == "rm_ppo":
            where = ("method.rm_dataset", f"stage {index} (the reward model): ")
        else:
            where = ("dataset.source", "")
        stages.append(_Stage(index, name, cfg, *where))
    return stages, findings


def read_datasets(config: RunConfig, read: Reader = read_dataset,
                  known: Mapping[str, DatasetReading] | None = None) -> dict[str, DatasetReading]:
    """A reading of every stage's dataset, by ``reading_key``; those in ``known`` are not read again."""
    readings = dict(known or {})
    for stage in _plan(config)[0]:
        spec = get_method(stage.name)
        for dataset in (stage.config.dataset, eval_dataset_config(stage.config)):
            if dataset is not None and reading_key(dataset, spec) not in readings:
                readings[reading_key(dataset, spec)] = read(dataset, spec)
    return readings


def check(config: RunConfig, readings: Mapping[str, DatasetReading] | None = None, *,
          outside_rewards_ok: bool = False, here: bool = True) -> Report:
    """Everything that would make ``config`` fail before or while training, found without a model.

    ``readings`` (from ``read_datasets``) saves reading the datasets here; a stage whose dataset is not in
    it makes the report ``pending``. ``outside_rewards_ok``: a reward file outside the rewards folder is
    not a problem (the app offers to copy it in before it starts the run). ``here``: the run trains on this
    machine, so what it lacks (CUDA for ZeRO, vLLM) counts; false for a run a scheduler starts elsewhere.
    """
    stages, findings = _plan(config)
    if readings is None:
        readings = read_datasets(config)
    report = Report(findings)
    problem = model_problem(config.model.name, config.model.revision)
    if problem:
        report.findings.append(Finding("model.name", problem))
    else:
        report.findings += _chat_format_findings(config) + _template_needed(config, stages, readings)
        from engine.planning.model_fit import full_fine_tuning_problem

        too_big = full_fine_tuning_problem(config)
        if too_big:
            report.findings.append(Finding("lora.enabled", too_big))
        rate = config.training.learning_rate
        if not config.lora.enabled and rate > FULL_FINE_TUNING_MAX_LR:
            report.findings.append(Finding("training.learning_rate", f"training.learning_rate = {rate:g} is a LoRA "
                                           "learning rate; fine-tuning every weight at it tends to wreck what the "
                                           "model knew. 1e-5 to 5e-5 is usual.", fatal=False))
    report.findings += [Finding(lack.path, lack.message) for lack in (missing(config) if here else [])]
    for stage in stages:
        _check_stage(stage, readings, report, outside_rewards_ok, after_rm=stage.index > 1 and any(
            s.name == "rm" for s in stages[: stage.index - 1]))
    last = stages[-1]
    reading = readings.get(reading_key(last.config.dataset, get_method(last.name)))
    if last.config.training.num_epochs is not None and reading is not None and not reading.error:
        from engine.planning.epochs import epoch_steps

        report.steps_plan = (f"{last.config.training.num_epochs:g} epochs = "
                             f"{epoch_steps(last.config, reading.rows, reading.prompts)} steps")
    unique = {(f.path, f.message): f for f in report.findings}  # stages share rewards: say each thing once
    report.findings = list(unique.values())
    return report


def _chat_format_findings(config: RunConfig) -> list[Finding]:
    """A chat template setting that cannot work with this model: a file that does not render a chat, a named
    template whose tokens the model lacks, thinking asked of a template without the switch."""
    from engine.models.chat_template import model_chat_format
    from engine.models.templates import TemplateError

    model = config.model
    if model.chat_template == "auto" and model.enable_thinking is None:
        return []
    folder = local_model_dir(model.name, model.revision)
    if folder is False:  # a hub model still to download: the worker checks it once it has the files
        return []
    try:
        model_chat_format(folder, model.chat_template, model.enable_thinking)
    except TemplateError as error:
        return [Finding(error.key, str(error))]
    return []


def _template_needed(config: RunConfig, stages: list[_Stage], readings: Mapping[str, DatasetReading]) -> list[Finding]:
    """A chat dataset for a model whose files have no chat template, with none set (``model.chat_template``
    'auto'). A run that starts from an adapter takes the adapter's tokenizer: the worker checks that one."""
    model = config.model
    if model.chat_template != "auto" or model.start_from:
        return []
    chats = [s for s in stages if getattr(readings.get(reading_key(s.config.dataset, get_method(s.name))),
                                          "conversational", False)]
    folder = local_model_dir(model.name, model.revision) if chats else None
    if not folder:  # the built-in model (it has one), or a hub model still to download
        return []
    from engine.models.chat_template import chat_template

    if chat_template(folder)[0]:
        return []
    return [Finding("model.chat_template", f"the model {folder.name} has no chat template, so the chat "
                    f"('messages') dataset {chats[0].config.dataset.source!r} cannot be rendered; set "
                    "model.chat_template (e.g. 'chatml', or the template of its family), use an instruct "
                    "model, or a prompt/completion or text dataset.")]


def _check_stage(stage: _Stage, readings: Mapping[str, DatasetReading], report: Report, outside_rewards_ok: bool,
                 after_rm: bool) -> None:
    cfg, spec = stage.config, get_method(stage.name)
    def add(path: str, message: str, labelled: bool = True, **kw) -> None:
        # A reward file's own problem is the same in every stage that lists it: said once, unlabelled.
        report.findings.append(Finding(path, stage.label + message if labelled else message, stage=stage.index,
                                       **kw))

    reading = readings.get(reading_key(cfg.dataset, spec))
    if reading is None:
        report.pending = True
    elif reading.error:
        add(stage.dataset_path, reading.error)
    _check_eval(cfg, spec, reading, readings, add, report)
    reward_model = getattr(cfg.method, "reward_model", None)
    if reward_model and not _is_reward_model(reward_model):
        add("method.reward_model", f"{reward_model!r} is neither an RM run directory, an adapter folder nor a "
            "model folder; point method.reward_model at the run directory of an RM run.")
    if spec.uses_rewards and not cfg.rewards and not reward_model and not after_rm:
        add("rewards", f"{spec.title} learns from rewards and none is set: add a [[rewards]] entry with a name "
            "such as 'format' or 'correctness', or set method.reward_model.")
    # Rewards are called only to learn from, or to score the sampled answers of a model that answers.
    scored = spec.uses_rewards or (spec.model_kind == "causal_lm" and cfg.training.sample_every > 0)
    for i, reward in enumerate(cfg.rewards):
        if ":" in reward.name and is_outside(reward.name) and not outside_rewards_ok:
            add(f"rewards.{i}", str(RewardError(reward.name, "is outside your rewards folder; copy the file there "
                                                "to use it")), labelled=False)
        needs = reward_needs(reward.name, reward.params)
        if needs.problem:
            add(f"rewards.{i}", needs.problem, labelled=False)
            continue
        usable = reading is not None and not reading.error and reading.format != "text"
        missing = [c for c in needs.columns if c not in reading.reward_columns] if usable else []
        if not missing or not scored:
            continue
        has = ", ".join(repr(c) for c in reading.reward_columns) or "no column besides those the method uses"
        lacks = f"the dataset {cfg.dataset.source} has no {missing[0]!r} column (its reward columns: {has})"
        if spec.uses_rewards:
            fix = (f"give {reward.name.rpartition(':')[2]}'s parameter {missing[0]!r} a default, or add the column"
                   if needs.own else "name the column that holds the reference answers on this [[rewards]] "
                   "entry: params = { column = \"…\" }")
            add(f"rewards.{i}", f"reward {reward.name!r} reads the column {missing[0]!r}, but {lacks}; {fix}.")
        else:
            add(f"rewards.{i}", f"reward {reward.name!r} is left out: {spec.title} does not learn from rewards "
                f"(they only score the sampled answers), and {lacks}.", fatal=False, drop_reward=i)


def _check_eval(cfg: RunConfig, spec: MethodSpec, reading: DatasetReading | None,
                readings: Mapping[str, DatasetReading], add: Callable[..., None], report: Report) -> None:
    """The eval data: a separate source that fits the method, or a held-out share that leaves rows to train on."""
    from engine.data.holdout import held_out_count

    eval_dataset = eval_dataset_config(cfg)
    if eval_dataset is not None:
        own = readings.get(reading_key(eval_dataset, spec))
        if own is None:
            report.pending = True
        elif own.error:
            add("eval.source", f"the eval dataset {cfg.eval.source!r}: {own.error}")
        else:
            report.eval_plan = f"eval on {own.rows} rows of {cfg.eval.source}"
        return
    if not cfg.eval.holds_out:
        report.eval_plan = "no eval (eval.size = 0)"
    if reading is None or reading.error or not cfg.eval.holds_out:
        return
    held = held_out_count(reading.prompts, cfg.eval.size)
    report.eval_plan = f"eval on {held} held-out prompts of {reading.prompts}" if held else \
        f"no eval: all {reading.prompts} prompts train (eval.size 'auto' holds out none under 50)"
    if held >= reading.prompts:
        add("eval.size", f"eval.size = {cfg.eval.size!r} holds out {held} of the dataset's {reading.prompts} "
            "distinct prompts, which leaves none to train on; hold out fewer (a share such as 0.1) or name a "
            "separate eval dataset in eval.source.")
    elif held == 0 and (cfg.eval.patience or cfg.eval.keep_best):
        setting = "eval.patience" if cfg.eval.patience else "eval.keep_best"
        add(setting, f"{setting} needs eval rows, and eval.size = {cfg.eval.size!r} holds out none of the "
            f"dataset's {reading.prompts} prompts ('auto' holds out none under 50); set eval.size to a share "
            "such as 0.2 or name an eval dataset in eval.source.")


def _is_reward_model(location: str) -> bool:
    path = Path(location).expanduser()
    return any((path / name).is_file() for name in ("adapter/adapter_config.json", "adapter_config.json",
                                                   "config.json"))


def packing_warning(requested_backend: str, load_in_4bit: bool) -> str | None:
    """For the Setup screen (no torch): why the worker will refuse packing here, or None when it will not.

    rft loads models with transformers' default attention (SDPA), so only Unsloth packs safely.
    """
    if predict_backend(requested_backend, load_in_4bit).startswith("unsloth"):
        return None
    return f"method.{PACKING_NEEDS}; here the run would stop before its first step. Set method.packing = false."
