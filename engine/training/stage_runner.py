"""One stage of a run, from dataset check to saved adapter (worker only).

The order matters to the user: the dataset and the reward functions are
checked before any model loads, so a wrong column or a misspelt reward costs
seconds, not a model load. On CUDA a pre-flight memory estimate warns before
the model loads when it will likely not fit. An out-of-memory error during
training saves the last finished step and raises ``StageOutOfMemory`` for the
worker to shrink the setup and resume.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from engine import data
from engine.contract.atomic_files import swap_dir
from engine.contract.config import ConfigError, RunConfig
from engine.contract.errors import first_line, is_out_of_memory
from engine.contract.protocol import EventWriter
from engine.contract.runs import (TRAINING_STATE_FILES, CommandReader, RunDir, RunStatus, checkpoint_step,
                                  holds_weights, latest_checkpoint)
from engine.data.probes import probe_rows
from engine.methods import MethodSpec, get_method
from engine.models.backend import Backend
from engine.planning.stages import Stage, resolve_adapter
from engine.training.adapter_files import save_adapter
from engine.training.oom_inject import oom_injector
from engine.training.oom_recovery import JobOutOfMemory, StageOutOfMemory
from engine.training.ranks import Ranks, load_state_on_cpu_ranks, report_agreement, unprepare_after_evaluation


class StageHost(Protocol):
    """What a stage needs of the worker that runs it: the run's files, its state, and a log."""

    run: RunDir
    events: EventWriter
    status: RunStatus
    commands: CommandReader
    ranks: Ranks  # this process's place in a job of several (one process: rank 0 of 1)
    prepared: dict[str, Any]  # datasets the pre-flight check already read, by reading key

    def set_state(self, state: str, message: str | None = None) -> None: ...

    def log(self, message: str, level: str = "info") -> None: ...


class StageRunner:
    """Trains one ``Stage`` for the worker (its ``StageHost``) and saves its adapter."""

    def __init__(self, worker: StageHost, stage: Stage, backend: Backend, resume_from: Path | None = None):
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
        from engine.planning.preflight import reading_key

        prepared = w.prepared.pop(reading_key(cfg.dataset, spec), None) or \
            data.prepare(cfg.dataset, spec.formats, method=spec.title)
        reward_funcs, reward_weights = self._reward_functions()

        from engine.models.default_model import prepare_default_model
        from engine.models.resolve import resolve_model

        w.set_state("loading", f"loading model {cfg.model.name}")
        source = resolve_model(cfg.model.name, cfg.model.revision)
        path = source.path or prepare_default_model(progress=w.log)
        self._warn_if_too_big(path)
        start_adapter = resolve_adapter(cfg.model.start_from) if cfg.model.start_from else None
        if cfg.model.start_from and start_adapter is None:
            raise ConfigError([("model.start_from", f"no adapter found in {cfg.model.start_from!r}")])

        from engine.models.lora import count_parameters, load_model, load_tokenizer

        tokenizer = load_tokenizer(start_adapter or path, cfg.model)
        chat = bool(tokenizer.chat_template)
        if not chat:
            if prepared.conversational:
                raise data.DatasetError(
                    f"The model {source.title} has no chat template, so a chat ('messages') dataset cannot be "
                    "rendered; give it one with model.chat_template (e.g. 'chatml', or the template of its "
                    "family), use an instruct model, or a prompt/completion or text dataset."
                )
            prepared = data.prepare(cfg.dataset, spec.formats, chat=False, method=spec.title)
        from engine.data.holdout import eval_split
        from engine.models.chat_setup import fold_system_turns, thinking_as_context

        folded = fold_system_turns(prepared.rows, tokenizer) if chat else 0
        if folded:
            w.log(f"the chat template has no system role: the system prompt of {folded} rows opens their first "
                  "user turn instead")
        train_rows, eval_rows, eval_prompts = eval_split(cfg, spec.formats, spec.title, prepared.rows, chat,
                                                         spec.answers)
        if chat and spec.name == "sft" and not cfg.training.train_on_thinking:
            moved = thinking_as_context(train_rows, tokenizer) + thinking_as_context(eval_rows, tokenizer)
            w.log(f"training.train_on_thinking = false: the <think> part of {moved} answers is context, "
                  "not learnt" if moved else "training.train_on_thinking = false, but no answer has a <think> "
                  "part", level="info" if moved else "warning")
        prepared = data.PreparedDataset(train_rows, prepared.format, prepared.source, prepared.columns,
                                        prepared.extra_columns)
        truncated = data.check_lengths(prepared.rows, tokenizer, cfg.model.max_seq_length, format=prepared.format)
        w.events.emit("dataset", source=prepared.source, format=prepared.format, rows=len(prepared.rows),
                      columns=prepared.columns, truncated=truncated, eval_rows=len(eval_rows),
                      eval_source=cfg.eval.source or ("held out" if eval_rows else None))
        if eval_rows:
            where = cfg.eval.source or "the training data, held out (never trained on)"
            w.log(f"evaluating on {len(eval_rows)} rows of {where}; {len(prepared.rows)} rows train")
        if truncated:
            w.log(f"{truncated} of {len(prepared.rows)} rows are longer than model.max_seq_length = "
                  f"{cfg.model.max_seq_length} tokens and will be truncated", level="warning")

        model, tokenizer = load_model(path, self.backend, cfg.model, cfg.lora, cfg.training.seed,
                                      kind=spec.model_kind, start_adapter=start_adapter,
                                      gradient_checkpointing=cfg.training.gradient_checkpointing)
        total_params, trainable = count_parameters(model)
        w.events.emit("model", name=cfg.model.name, title=source.title, path=str(path), parameters=total_params,
                      trainable=trainable, backend=self.backend.name, device=self.backend.device,
                      dtype=self.backend.dtype, load_in_4bit=self.backend.load_in_4bit,
                      start_from=str(start_adapter) if start_adapter else None, world_size=w.ranks.world_size,
                      strategy=cfg.distributed.strategy if w.ranks.several else None)
        started = f"; continuing the adapter in {start_adapter}" if start_adapter else "" if cfg.lora.enabled else \
            " (full fine-tuning)"
        w.log(f"model {source.title} on {self.backend.describe()}; {trainable:,} of {total_params:,} parameters train{started}")
        reward_model = getattr(cfg.method, "reward_model", None)
        if reward_model:
            from engine.models.reward_model import load_reward_model

            w.set_state("loading", f"loading reward model {reward_model}")
            reward_funcs.append(load_reward_model(reward_model, self.backend.device))
            reward_weights.append(1.0)
        return self._train(model, tokenizer, prepared, chat, reward_funcs, reward_weights, (eval_rows, eval_prompts))

    def _train(self, model: Any, tokenizer: Any, prepared: data.PreparedDataset, chat: bool,
               reward_funcs: list, reward_weights: list[float],
               held_out: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> str:
        from datasets import Dataset

        from engine.training.bridge import EventBridge
        from engine.training.sampling import PairScorer, ProbeSampler, RecordingRewards
        from engine.training.trainer_context import TrainerContext
        from engine.training.trainers import build_trainer

        w, cfg, spec = self.worker, self.config, self.spec
        if spec.uses_rewards and not reward_funcs:
            raise ConfigError([("rewards", f"{spec.title} needs at least one reward function ([[rewards]] with a "
                                "name such as 'format' or 'correctness') or method.reward_model")])
        bridge = EventBridge(w.run, w.events, w.status, w.commands)
        ctx = TrainerContext(config=cfg, backend=self.backend, model=model, tokenizer=tokenizer,
                             train_dataset=Dataset.from_list(prepared.rows), dataset_format=prepared.format,
                             output_dir=self.stage.checkpoints_dir, callbacks=[bridge], reward_funcs=reward_funcs,
                             reward_weights=reward_weights, events=w.events, stage_name=w.status.stage,
                             eval_dataset=Dataset.from_list(held_out[0]) if held_out[0] and
                             spec.eval_loss_metrics else None)
        evaluator = self._evaluator(ctx, held_out[1], list(reward_funcs), list(reward_weights))
        if evaluator is not None:
            ctx.callbacks.append(evaluator)
        if spec.model_kind == "causal_lm" and not spec.uses_rewards and cfg.training.sample_every:
            probes = probe_rows(self.config, self.spec, chat, self.config.training.sample_prompts, prepared)
            ctx.callbacks.append(ProbeSampler(ctx, probes, cfg.training.sample_every,
                                              cfg.training.sample_max_new_tokens))
        if spec.model_kind == "sequence_classification" and cfg.training.sample_every:
            pairs = [row for row in prepared.rows[: cfg.training.sample_prompts]]
            ctx.callbacks.append(PairScorer(ctx, pairs, cfg.training.sample_every))
        if spec.name == "grpo":
            recorder = RecordingRewards(ctx, cfg.method.num_generations, lambda: bridge.status.step + 1, w.ranks)
            ctx.reward_funcs = recorder.wrapped()
        injector = oom_injector()  # a test hook; None unless RFT_INJECT_OOM_AT_STEP is set
        if injector is not None:
            ctx.callbacks.append(injector)
        trainer = build_trainer(ctx)
        if "stop" in w.commands.poll():
            w.log("stopped before the first step; nothing was trained")
            return "stopped"
        if evaluator is not None:
            evaluator.trainer = trainer if ctx.eval_dataset is not None else None
            if self.resume_from is None:
                w.set_state("loading", "evaluating the base model on the eval rows")
                evaluator.evaluate(0, trainer.model)
                if w.ranks.several:
                    unprepare_after_evaluation(trainer)
        w.set_state("training", f"stage {self.stage.index}: {spec.title}" if w.status.stage_count else None)
        out_of_memory = None
        try:
            if self.resume_from is not None:
                if w.ranks.several and self.backend.device == "cpu":
                    load_state_on_cpu_ranks(trainer)
                # The trainer restores weights, optimiser, schedule, generators and data position.
                trainer.train(resume_from_checkpoint=str(self.resume_from))
            else:
                trainer.train()
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            out_of_memory = first_line(error)
        if out_of_memory is not None and w.ranks.several:
            raise JobOutOfMemory(out_of_memory, trainer.state.global_step + 1, w.ranks.rank)
        if out_of_memory is not None:
            # Outside the except block, so the failed step's tensors (held by its traceback) are freed first.
            step, checkpoint = self._save_after_oom(trainer)
            raise StageOutOfMemory(out_of_memory, trainer.state.global_step + 1, step, checkpoint)
        report_agreement(w.ranks, trainer.model, w.events)
        w.set_state("saving", f"saving the {cfg.lora.result_name}")
        save_adapter(trainer.model, tokenizer, self.stage.adapter_dir)
        if hasattr(trainer, "save_extra"):
            trainer.save_extra(self.stage.adapter_dir)
        w.log(f"{cfg.lora.result_name} saved to {self.stage.adapter_dir}")
        if evaluator is not None and cfg.eval.keep_best and w.ranks.is_main:  # rank 0 alone wrote the best
            self._keep_best(evaluator)
        return "stopped" if bridge.stop_requested else "done"

    def _evaluator(self, ctx: Any, prompts: list[dict[str, Any]], reward_funcs: list,
                   reward_weights: list[float]) -> Any:
        """The held-out evaluation of this stage, or None when it has nothing to evaluate on."""
        from engine.contract.eval_config import answer_length, chosen_metric
        from engine.contract.protocol import read_events
        from engine.training.evaluation import HeldOutEvaluator

        cfg, spec, w = self.config, self.spec, self.worker
        if ctx.eval_dataset is None and not (prompts and reward_funcs):
            return None
        history: dict[int, dict[str, Any]] = {}
        plan: dict[str, Any] | None = None  # the interval eval.every = 'auto' was fixed at
        if self.resume_from is not None:  # the evaluations up to the checkpoint count toward best and patience
            upto = checkpoint_step(self.resume_from)
            for event in read_events(w.run.events_path):
                if event.get("stage") != ctx.stage_name or event.get("step", upto + 1) > upto:
                    continue
                if event["type"] == "eval":
                    history[event["step"]] = event
                elif event["type"] == "eval_plan":
                    plan = event
        max_new = answer_length(cfg)

        def record(best: dict[str, Any]) -> None:
            w.status.best = best
            w.run.write_status(w.status, durable=False)

        return HeldOutEvaluator(ctx, cfg.eval, chosen_metric(cfg.eval.metric, cfg.eval_metrics(spec.name)), prompts,
                                (reward_funcs, reward_weights), max_new, self.best_dir,
                                [history[step] for step in sorted(history)], record, plan)

    @property
    def best_dir(self) -> Path:
        """Where ``eval.keep_best`` keeps the best step's adapter until the stage ends."""
        return self.stage.adapter_dir.with_name("best-adapter")

    def _keep_best(self, evaluator: Any) -> None:
        """Make the stage's adapter the best evaluated step's (``eval.keep_best``), and say which it is."""
        w, best = self.worker, evaluator.best
        if best is None or not holds_weights(self.best_dir):
            w.log("eval.keep_best: no evaluation gave a best step; the adapter is the last step's", level="warning")
            return
        swap_dir(self.best_dir, self.stage.adapter_dir)
        w.status.best = {**best, "adapter": str(self.stage.adapter_dir.relative_to(w.run.path))}
        w.run.write_status(w.status)
        w.events.emit("best", **w.status.best)
        w.log(f"eval.keep_best: the adapter is step {best['step']}'s, the best {best['metric']} "
              f"({best['value']:.4g})")

    def _save_after_oom(self, trainer: Any) -> tuple[int, Path | None]:
        """Checkpoint the last finished step, as a stop would; returns (step, checkpoint to resume from).

        An OOM strikes inside a step's forward or backward pass, before its optimizer step, so the weights,
        optimiser and schedule are still those of the last finished step. A save that fails, or nothing
        trained in this attempt, falls back to the newest complete checkpoint; none: the stage starts again.
        """
        import gc
        import torch

        w, step = self.worker, trainer.state.global_step
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        newest = latest_checkpoint(self.stage.checkpoints_dir)
        if step > 0 and (newest is None or checkpoint_step(newest) < step):
            w.set_state("saving", f"out of memory; saving step {step}")
            try:
                if hasattr(trainer, "save_checkpoint"):  # our PPO loop (it reports the checkpoint itself)
                    trainer.save_checkpoint()
                else:
                    trainer._save_checkpoint(trainer.model, trial=None)
                    saved = self.stage.checkpoints_dir / f"checkpoint-{step}"
                    w.events.emit("checkpoint", step=step, path=str(saved.relative_to(w.run.path)))
            except Exception as error:  # e.g. out of memory again while saving
                w.log(f"could not save step {step} after running out of memory ({first_line(error)}); "
                      "resuming from the newest complete checkpoint", level="warning")
            newest = latest_checkpoint(self.stage.checkpoints_dir)
        return (checkpoint_step(newest), newest) if newest is not None else (0, None)

    def _warn_if_too_big(self, model_dir: Path) -> None:
        """Warn before loading when the pre-flight estimate exceeds the GPU's free memory (CUDA only)."""
        if self.backend.device != "cuda":
            return
        import json
        from engine.models.backend import cuda_free_bytes
        from engine.planning.memory_estimate import ModelShape, preflight_warning

        try:
            shape = ModelShape.from_config(json.loads((model_dir / "config.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return
        warning = preflight_warning(self.config, cuda_free_bytes(), shape, "cuda", self.backend.dtype,
                                    self.backend.load_in_4bit) if shape else None
        if warning:
            self.worker.log(warning, level="warning")

    def _reward_functions(self) -> tuple[list, list[float]]:
        """The configured reward functions, built (and yours validated) before the model loads."""
        from engine.rewards.configured import configured_rewards
        from engine.rewards.sandbox import guard

        warn = lambda message: self.worker.log(message, level="warning")
        built = configured_rewards(self.config, self.worker.log)
        return [guard(r.fn, self.config.training.on_reward_error, warn) for r in built], [r.weight for r in built]

    def _adapter_from_checkpoint(self, checkpoint: Path) -> None:
        from engine.models.default_model import prepare_default_model
        from engine.models.lora import load_tokenizer
        from engine.models.resolve import resolve_model

        w, target = self.worker, self.stage.adapter_dir
        if not w.ranks.is_main:  # rank 0 writes the adapter; the other ranks are done
            return
        w.set_state("saving", f"saving the adapter of {checkpoint.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for path in checkpoint.iterdir():
                if path.is_file() and not path.name.startswith(TRAINING_STATE_FILES):
                    shutil.copy2(path, tmp / path.name)
            if not (tmp / "tokenizer_config.json").is_file():
                source = resolve_model(self.config.model.name, self.config.model.revision)
                load_tokenizer(source.path or prepare_default_model(), self.config.model).save_pretrained(tmp)
            swap_dir(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        w.log(f"training had finished at {checkpoint.name}; its adapter is saved to {target}")
