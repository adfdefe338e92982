"""One stage of a run, from dataset check to saved adapter (worker only).

The order matters to the user: the dataset and the reward functions are
checked before any model loads, so a wrong column or a misspelt reward costs
seconds, not a model load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import data
from engine.config import ConfigError, RunConfig
from engine.methods import MethodSpec, get_method
from engine.models import Backend
from engine.probes import probe_rows
from engine.runs import TRAINING_STATE_FILES, checkpoint_step
from engine.stages import Stage, resolve_adapter

if TYPE_CHECKING:  # pragma: no cover
    from engine.worker import Worker


class StageRunner:
    """Trains one ``Stage`` for a ``Worker`` and saves its adapter."""

    def __init__(self, worker: "Worker", stage: Stage, backend: Backend, resume_from: Path | None = None):
        self.worker, self.stage, self.backend = worker, stage, backend
        self.resume_from = resume_from  # a checkpoint of this stage to continue from
        self.config: RunConfig = stage.config
        self.spec: MethodSpec = get_method(self.config.method_name)

    def run(self) -> str:
        w, cfg, spec = self.worker, self.config, self.spec
        w.status.total = cfg.training.max_steps
        if self.resume_from is not None and checkpoint_step(self.resume_from) >= cfg.training.max_steps:
            # Training had finished and only saving was cut short: a trainer resumed here would train
            # a step past max_steps, so the last checkpoint's adapter becomes the stage's result.
            self._adapter_from_checkpoint(self.resume_from)
            return "done"
        w.set_state("loading", f"checking dataset {cfg.dataset.source}")
        prepared = data.prepare(cfg.dataset, spec.formats, method=spec.title)
        reward_funcs, reward_weights = self._reward_functions()

        from engine.models import prepare_default_model, resolve_model

        w.set_state("loading", f"loading model {cfg.model.name}")
        source = resolve_model(cfg.model.name, cfg.model.revision)
        path = source.path or prepare_default_model(progress=w.log)
        start_adapter = resolve_adapter(cfg.model.start_from) if cfg.model.start_from else None
        if cfg.model.start_from and start_adapter is None:
            raise ConfigError([("model.start_from", f"no adapter found in {cfg.model.start_from!r}")])

        from engine.lora import count_parameters, load_model, load_tokenizer

        tokenizer = load_tokenizer(start_adapter or path)
        chat = bool(tokenizer.chat_template)
        if not chat:
            # A chat dataset reaches here as messages, or split into prompt/answer turns (lists of messages).
            conversational = prepared.format == "messages" or any(
                isinstance(prepared.rows[0].get(key), list) for key in ("prompt", "completion", "chosen")
            ) if prepared.rows else False
            if conversational:
                raise data.DatasetError(
                    f"The model {source.title} has no chat template, so a chat ('messages') dataset cannot be "
                    "rendered; use an instruct model or a prompt/completion or text dataset."
                )
            prepared = data.prepare(cfg.dataset, spec.formats, chat=False, method=spec.title)
        truncated = data.check_lengths(prepared.rows, tokenizer, cfg.model.max_seq_length, format=prepared.format)
        w.events.emit("dataset", source=prepared.source, format=prepared.format, rows=len(prepared.rows),
                      columns=prepared.columns, truncated=truncated)
        if truncated:
            w.log(f"{truncated} of {len(prepared.rows)} rows are longer than model.max_seq_length = "
                  f"{cfg.model.max_seq_length} tokens and will be truncated", level="warning")

        model, tokenizer = load_model(path, self.backend, cfg.model, cfg.lora, cfg.training.seed,
                                      kind=spec.model_kind, start_adapter=start_adapter)
        total_params, trainable = count_parameters(model)
        w.events.emit("model", name=cfg.model.name, title=source.title, path=str(path), parameters=total_params,
                      trainable=trainable, backend=self.backend.name, device=self.backend.device,
                      dtype=self.backend.dtype, load_in_4bit=self.backend.load_in_4bit,
                      start_from=str(start_adapter) if start_adapter else None)
        started = f"; continuing the adapter in {start_adapter}" if start_adapter else ""
        w.log(f"model {source.title} on {self.backend.describe()}; {trainable:,} of {total_params:,} parameters "
              f"train{started}")
        reward_model = getattr(cfg.method, "reward_model", None)
        if reward_model:
            from engine.reward_model import load_reward_model

            w.set_state("loading", f"loading reward model {reward_model}")
            reward_funcs.append(load_reward_model(reward_model, self.backend.device))
            reward_weights.append(1.0)
        return self._train(model, tokenizer, prepared, chat, reward_funcs, reward_weights)

    def _train(self, model: Any, tokenizer: Any, prepared: data.PreparedDataset, chat: bool,
               reward_funcs: list, reward_weights: list[float]) -> str:
        from datasets import Dataset

        from engine.bridge import EventBridge
        from engine.sampling import PairScorer, ProbeSampler, RecordingRewards
        from engine.trainer_context import TrainerContext
        from engine.worker import save_adapter

        w, cfg, spec = self.worker, self.config, self.spec
        if spec.uses_rewards and not reward_funcs:
            raise ConfigError([("rewards", f"{spec.title} needs at least one reward function ([[rewards]] with a "
                                "name such as 'format' or 'correctness') or method.reward_model")])
        bridge = EventBridge(w.run, w.events, w.status, w.commands)
        ctx = TrainerContext(config=cfg, backend=self.backend, model=model, tokenizer=tokenizer,
                             train_dataset=Dataset.from_list(prepared.rows), dataset_format=prepared.format,
                             output_dir=self.stage.checkpoints_dir, callbacks=[bridge], reward_funcs=reward_funcs,
                             reward_weights=reward_weights, events=w.events)
        if spec.model_kind == "causal_lm" and not spec.uses_rewards and cfg.training.sample_every:
            probes = probe_rows(self.config, self.spec, chat, self.config.training.sample_prompts, prepared)
            ctx.callbacks.append(ProbeSampler(ctx, probes, cfg.training.sample_every,
                                              cfg.training.sample_max_new_tokens))
        if spec.model_kind == "sequence_classification" and cfg.training.sample_every:
            pairs = [row for row in prepared.rows[: cfg.training.sample_prompts]]
            ctx.callbacks.append(PairScorer(ctx, pairs, cfg.training.sample_every))
        if spec.name == "grpo":
            recorder = RecordingRewards(ctx, cfg.method.num_generations, lambda: bridge.status.step + 1)
            ctx.reward_funcs = recorder.wrapped()
        trainer = spec.builder()(ctx)
        if "stop" in w.commands.poll():
            w.log("stopped before the first step; nothing was trained")
            return "stopped"
        w.set_state("training", f"stage {self.stage.index}: {spec.title}" if w.status.stage_count else None)
        if self.resume_from is not None:
            # The trainer restores weights, optimiser, schedule, generators and data position.
            trainer.train(resume_from_checkpoint=str(self.resume_from))
        else:
            trainer.train()
        w.set_state("saving", "saving the adapter")
        save_adapter(trainer.model, tokenizer, self.stage.adapter_dir)
        if hasattr(trainer, "save_extra"):
            trainer.save_extra(self.stage.adapter_dir)
        w.log(f"adapter saved to {self.stage.adapter_dir}")
        return "stopped" if bridge.stop_requested else "done"

    def _reward_functions(self) -> tuple[list, list[float]]:
        """The configured reward functions, built (and yours validated) before the model loads."""
        from engine.rewards.configured import configured_rewards
        from engine.rewards.sandbox import guard

        warn = lambda message: self.worker.log(message, level="warning")
        built = configured_rewards(self.config, self.worker.log)
        return [guard(r.fn, self.config.training.on_reward_error, warn) for r in built], [r.weight for r in built]

    def _adapter_from_checkpoint(self, checkpoint: Path) -> None:
        import shutil
        import tempfile

        from engine.fsutil import swap_dir
        from engine.lora import load_tokenizer
        from engine.models import prepare_default_model, resolve_model

        w, target = self.worker, self.stage.adapter_dir
        w.set_state("saving", f"saving the adapter of {checkpoint.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for path in checkpoint.iterdir():
                if path.is_file() and not path.name.startswith(TRAINING_STATE_FILES):
                    shutil.copy2(path, tmp / path.name)
            if not (tmp / "tokenizer_config.json").is_file():
                source = resolve_model(self.config.model.name, self.config.model.revision)
                load_tokenizer(source.path or prepare_default_model()).save_pretrained(tmp)
            swap_dir(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        w.log(f"training had finished at {checkpoint.name}; its adapter is saved to {target}")

