"""Make one export of a run and check it before it is moved into place (engine process, torch).

Order of work: refuse early (target exists, wrong format for the method), load
the base model with the run's adapter as the reference, answer the probe
prompts, write the export to a staging folder, read it back and check it, then
rename it into ``runs/<run>/exports/``. A failed check removes the staging
folder and raises: a broken export never lands where a person would use it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.export import CONVERTER_QUANTS, FINAL, FORMATS, GGUF_QUANTS, ExportError, export_dir, source_dir
from engine.export.checks import Check, choice_margin, greedy_answers, read_gguf, same_answers, sane_answers
from engine.export.model_card import model_card
from engine.export.staging import check_target, folder_size, install, staging_dir
from engine.contract.runs import RunDir, is_whole_model

CHECK_PROMPTS = 2
CHECK_TOKENS = 48
MERGED_DTYPE = "float16"


@dataclass
class ExportResult:
    """Where an export went, how big it is, how long it took, and what its checks said."""

    path: str
    format: str
    source: str
    quant: str | None
    size_bytes: int
    seconds: float
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Reference:
    model: Any
    tokenizer: Any
    base_path: Path
    base_title: str
    prompts: list[Any]
    answers: list[list[int]]
    max_tokens: int


class Exporter:
    """One export: ``Exporter(run, fmt, …).make()`` returns an ``ExportResult`` or raises ``ExportError``."""

    def __init__(self, run: RunDir, fmt: str, source: str = FINAL, quant: str = "q8_0", replace: bool = False,
                 log: Callable[[str], None] = print, on_check: Callable[[Check], None] | None = None):
        if fmt not in FORMATS:
            raise ExportError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
        if fmt == "gguf" and quant not in GGUF_QUANTS:
            raise ExportError(f"Unknown GGUF quantisation {quant!r}; choose one of {', '.join(GGUF_QUANTS)}.")
        self.run, self.fmt, self.source, self.quant, self.replace = run, fmt, source, quant, replace
        self.log, self.on_check = log, on_check or (lambda check: None)
        self.target = export_dir(run, fmt, source, quant)
        self.checks: list[Check] = []

    def make(self) -> ExportResult:
        started = time.monotonic()
        check_target(self.target, self.replace)
        adapter = source_dir(self.run, self.source)
        if self.fmt == "adapter" and is_whole_model(adapter):
            raise ExportError(f"{self.run.name} fine-tuned every weight (lora.enabled = false), so it has no adapter "
                              "to export; export format 'merged' (the whole model, for transformers) or 'gguf'.")
        if self.fmt == "gguf":
            from engine.export.gguf_tools import preflight

            preflight(self.quant)
        config = self.run.load_config()
        from engine.methods import get_method

        spec = get_method(config.method_name)
        if spec.model_kind != "causal_lm" and self.fmt != "adapter":
            raise ExportError(f"{self.run.name} trained a reward model ({spec.title}): it scores text and cannot "
                              "chat, so only its adapter can be exported (format 'adapter').")
        staging = staging_dir(self.target)
        try:
            if spec.model_kind != "causal_lm":
                self._reward_model_adapter(adapter, staging)
            else:
                reference = self._reference(config, spec, adapter)
                getattr(self, f"_{self.fmt}")(reference, adapter, staging)
            failed = [c for c in self.checks if not c.ok]
            if failed:
                raise ExportError("The export did not pass its check, so it was not kept:\n"
                                  + "\n".join(f"  {c.name}: {c.detail}" for c in failed))
            install(staging, self.target, self.replace)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ExportResult(str(self.target), self.fmt, self.source, self.quant if self.fmt == "gguf" else None,
                            folder_size(self.target), round(time.monotonic() - started, 2),
                            [c.as_dict() for c in self.checks])

    def _check(self, check: Check) -> None:
        self.checks.append(check)
        self.on_check(check)

    # -- the reference: the run's adapter on its base model, in memory -------------------------

    def _reference(self, config: Any, spec: Any, adapter: Path) -> _Reference:
        import torch

        from engine.models.lora import load_trained
        from engine.data.probes import probe_rows

        whole = is_whole_model(adapter)
        self.log(f"loading the fine-tuned model of {self.source}" if whole else
                 f"loading {config.model.name} with the adapter from {self.source}")
        model, tokenizer, base_path, base_title = load_trained(config.model, adapter, torch.float32, _device(),
                                                               progress=self.log, with_base=False)
        probes = probe_rows(config, spec, bool(tokenizer.chat_template), CHECK_PROMPTS)
        prompts = [p["prompt"] for p in probes] or [[{"role": "user", "content": "What is 2 plus 3?"}]]
        if not tokenizer.chat_template:
            prompts = [p if isinstance(p, str) else p[-1]["content"] for p in prompts]
        self.log(f"answering {len(prompts)} probe prompts with the {'model' if whole else 'adapter'} in memory")
        max_tokens = min(config.training.sample_max_new_tokens, CHECK_TOKENS)
        answers = greedy_answers(model, tokenizer, prompts, max_tokens)
        return _Reference(model, tokenizer, base_path, base_title, prompts, answers, max_tokens)

    @staticmethod
    def _margin(ref: _Reference) -> Callable[[int, list[int], int, int], float]:
        """How undecided the (full-precision, merged) reference was where an answer first differs."""
        return lambda probe, prefix, a, b: choice_margin(ref.model, ref.tokenizer, ref.prompts[probe], prefix, a, b)

    def _card(self, reference_title: str, usage: str, staging: Path) -> None:
        (staging / "README.md").write_text(model_card(self.run, self.source, self.fmt, reference_title, usage),
                                           encoding="utf-8")

    # -- formats ------------------------------------------------------------------------------

    def _adapter(self, ref: _Reference, adapter: Path, staging: Path) -> None:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        self.log("writing the adapter")
        for name in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.copy2(adapter / name, staging / name)
        ref.tokenizer.save_pretrained(staging)
        self._card(ref.base_title, _adapter_usage(ref.base_title), staging)
        self.log("reloading the adapter with PEFT")
        base = AutoModelForCausalLM.from_pretrained(ref.base_path, dtype=torch.float32)
        reloaded = PeftModel.from_pretrained(base, staging).to(_device()).eval()
        answers = greedy_answers(reloaded, ref.tokenizer, ref.prompts, ref.max_tokens)
        self._check(same_answers("adapter reloads", answers, ref.answers, ref.tokenizer))

    def _write_merged(self, ref: _Reference, folder: Path) -> None:
        import torch

        if hasattr(ref.model, "merge_and_unload"):
            self.log(f"merging the adapter into the base ({MERGED_DTYPE})")
            ref.model = ref.model.merge_and_unload()
        else:
            self.log(f"writing the fine-tuned model ({MERGED_DTYPE})")  # full fine-tuning: nothing to merge
        merged = ref.model
        merged.to(getattr(torch, MERGED_DTYPE)).save_pretrained(folder)
        merged.to(torch.float32)
        ref.tokenizer.save_pretrained(folder)

    def _merged(self, ref: _Reference, adapter: Path, staging: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self._write_merged(ref, staging)
        self._card(ref.base_title, _merged_usage(), staging)
        self.log("reloading the merged model with transformers")
        reloaded = AutoModelForCausalLM.from_pretrained(staging, dtype=torch.float32).to(_device()).eval()
        answers = greedy_answers(reloaded, ref.tokenizer, ref.prompts, ref.max_tokens)
        self._check(same_answers("merged reloads", answers, ref.answers, ref.tokenizer, self._margin(ref)))

    def _gguf(self, ref: _Reference, adapter: Path, staging: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from engine.models.chat_template import chat_template
        from engine.export.gguf_tools import convert
        from engine.export.modelfile import modelfile

        name = f"{self.run.name}-{self.quant}.gguf"
        with tempfile.TemporaryDirectory(prefix=".merged-", dir=staging.parent) as merged_dir:
            self._write_merged(ref, Path(merged_dir))
            convert(Path(merged_dir), staging / name, self.quant, self.log)
            template, tokenizer_config = chat_template(Path(merged_dir))
        special = list(ref.tokenizer.all_special_tokens) + list(getattr(ref.tokenizer, "additional_special_tokens", []))
        (staging / "Modelfile").write_text(modelfile(name, template, tokenizer_config, ref.tokenizer.eos_token,
                                                     special), encoding="utf-8")
        self._card(ref.base_title, _gguf_usage(name, self.run.name), staging)
        self.log("reading the GGUF back")
        for check in read_gguf(staging / name, ref.tokenizer):
            self._check(check)
        self.log("loading the GGUF's weights and answering the probes")
        reloaded = AutoModelForCausalLM.from_pretrained(staging, gguf_file=name, dtype=torch.float32)
        reloaded = reloaded.to(_device()).eval()
        answers = greedy_answers(reloaded, ref.tokenizer, ref.prompts, ref.max_tokens)
        name = f"gguf {self.quant} answers"
        self._check(same_answers(name, answers, ref.answers, ref.tokenizer, self._margin(ref)) if self.quant == "f16"
                    else sane_answers(name, answers, ref.answers, ref.tokenizer))

    def _reward_model_adapter(self, adapter: Path, staging: Path) -> None:
        from engine.models.reward_model import load_reward_model
        from engine.contract.runs import TRAINING_STATE_FILES

        self.log("writing the reward model's adapter")
        for path in adapter.iterdir():
            if path.is_file() and not path.name.startswith(TRAINING_STATE_FILES):
                shutil.copy2(path, staging / path.name)
        config = self.run.load_config()
        adapter_config = json.loads((staging / "adapter_config.json").read_text())
        self._card(adapter_config.get("base_model_name_or_path") or config.model.name,
                   "Load with `AutoModelForSequenceClassification` and `PeftModel.from_pretrained`, or give this "
                   "folder to rft as `method.reward_model`.", staging)
        pairs = [("What is 2 plus 3?", "<answer>5</answer>"), ("What is 2 plus 3?", "I cannot say.")]
        device = _device()
        want = load_reward_model(str(adapter), device)([p for p, _ in pairs], [a for _, a in pairs])
        got = load_reward_model(str(staging), device)([p for p, _ in pairs], [a for _, a in pairs])
        same = all(abs(a - b) < 1e-5 for a, b in zip(got, want))
        self._check(Check("reward model reloads", same, f"scores {[round(s, 4) for s in got]} vs "
                                                        f"{[round(s, 4) for s in want]} from the run's adapter"))


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _adapter_usage(base: str) -> str:
    return ("```python\nfrom peft import AutoPeftModelForCausalLM\nfrom transformers import AutoTokenizer\n"
            "model = AutoPeftModelForCausalLM.from_pretrained(\"this folder\")\n"
            "tokenizer = AutoTokenizer.from_pretrained(\"this folder\")\n```\n"
            f"The base model is {base}; `adapter_config.json` names where it was loaded from.")


def _merged_usage() -> str:
    return ("```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n"
            "model = AutoModelForCausalLM.from_pretrained(\"this folder\")\n"
            "tokenizer = AutoTokenizer.from_pretrained(\"this folder\")\n```")


def _gguf_usage(name: str, run_name: str) -> str:
    return (f"llama.cpp: `llama-cli -m {name} -cnv`\n\n"
            f"Ollama: `ollama create {run_name.lower()} -f Modelfile`, then `ollama run {run_name.lower()}`.\n"
            f"The Modelfile carries the chat template and stop tokens. Quantisation: {', '.join(CONVERTER_QUANTS)} "
            "come from llama.cpp's converter; smaller ones from llama-quantize.")
