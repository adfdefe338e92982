"""Bad input, refused clearly: one table of cases, each with the words a person sees.

Every case writes the user's files into a folder of its own, does what rft
would do with them, and checks two things: the refusal says what is wrong (in
words, never a bare traceback), and no file the user owns changed. The last
test counts the cases per area.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from engine.contract.config import ConfigError, DatasetConfig, LoraConfig, ModelConfig
from engine.contract.presets import load_config
from engine.data import DatasetError, check_lengths, prepare
from engine.export import ExportError
from engine.methods import get_method
from engine.models.backend import choose_backend
from engine.models.resolve import ModelError, resolve_model
from engine.rewards.user_files import RewardError
from tests.conftest import tiny_config, wait_final
from tests.engine.test_reward_sandbox import USER_FILE  # functions that pass the load check, then misbehave

REFUSALS = (ConfigError, DatasetError, ModelError, RewardError, ExportError, ValueError, FileNotFoundError)


@dataclass
class World:
    """The case's own folder of user files, and the shared tiny model and finished run when needed."""

    user: Path
    tiny_model: Callable[[], Path]
    finished_run: Callable[[], Any]


@dataclass
class Case:
    area: str
    name: str
    setup: Callable[[World], Callable[[], Any]]  # writes the user's files; returns what rft does with them
    words: str  # a regular expression the message must match


def _write(world: World, name: str, text: str | bytes) -> Path:
    path = world.user / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def dataset(name: str, content: str | bytes, method: str = "sft", **columns: str):
    def setup(world: World):
        path = _write(world, name, content)
        spec = get_method(method)
        return lambda: prepare(DatasetConfig(source=str(path), **columns), spec.formats, method=spec.title)
    return setup


def preset(text: str, overrides: list[str] | None = None):
    def setup(world: World):
        path = _write(world, "mine.toml", textwrap.dedent(text))
        return lambda: load_config(path, overrides)
    return setup


def reward(function: str, timeout_s: float = 5.0):
    def setup(world: World):
        _write(world, "rewards/mine.py", USER_FILE)
        _write(world, "rewards/broken.py", "def f(prompts, completions, **kw):\n    return [1.0 for c in completions\n")

        def act():
            from engine.rewards.sandbox import SandboxedReward, validate
            from engine.rewards.user_files import resolve_reward

            fn = SandboxedReward(*resolve_reward(function), timeout_s)
            try:
                validate(fn, function)
                return fn(prompts=["Ava has 3 pens.", "y"], completions=["<answer>3</answer>", "x"])
            finally:
                fn.close()
        return act
    return setup


def preflight(name: str, overrides: Callable[[World], list[str]], files: dict[str, str] | None = None):
    """What ``rft train``, the app's t and the worker refuse before any model loads (engine.planning.preflight)."""
    def setup(world: World):
        for file, text in (files or {}).items():
            _write(world, file, text)

        def act():
            from engine.planning.preflight import check

            report = check(load_config(name, overrides(world)))
            if report.problems:
                raise report.error()
        return act
    return setup


def before_any_run(sections_of: Callable[[World], dict]):
    """``preflight`` on the sft preset with the sections a worker case writes its files for."""
    def setup(world: World):
        sections = sections_of(world)
        overrides = [f"{section}.{key}={value}" for section, values in sections.items() for key, value in values.items()]
        return preflight("sft", lambda w: overrides)(world)
    return setup


def model(name_of: Callable[[World], str]):
    return lambda world: (lambda: resolve_model(name_of(world)))


def lora_targets(world: World):
    from engine.models.lora import load_model

    path = world.tiny_model()
    return lambda: load_model(path, choose_backend("transformers"), ModelConfig(name=str(path)),
                              LoraConfig(target_modules=["no_such_layer"]), seed=0)


def worker_error(sections: Callable[[World], dict]):
    """Run the real worker on the tiny model and raise what it reported."""
    def setup(world: World):
        config = tiny_config(world.tiny_model(), world.user.parent / "runs", **sections(world))

        def act():
            from engine.contract.launch import start_run
            from engine.contract.protocol import read_events

            run, _ = start_run(config)
            assert wait_final(run, timeout=300).state == "failed"
            raise ValueError(next(e["message"] for e in read_events(run.events_path) if e["type"] == "error"))
        return act
    return setup


def no_chat_template(world: World) -> dict:
    folder = world.user.parent / "plain-model"
    shutil.copytree(world.tiny_model(), folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    path = _write(world, "chat.jsonl", _jsonl([{"messages": [{"role": "user", "content": "2+3?"},
                                                            {"role": "assistant", "content": "5"}]}] * 4))
    return {"model": {"name": str(folder)}, "dataset": {"source": str(path)}}


def too_long(world: World):
    from transformers import AutoTokenizer

    path = _write(world, "long.jsonl", _jsonl([{"prompt": "What is 12 plus 30? " * 5, "completion": "42"}] * 3))
    rows = prepare(DatasetConfig(source=str(path)), get_method("sft").formats, method="SFT").rows
    tokenizer = AutoTokenizer.from_pretrained(world.tiny_model())
    return lambda: check_lengths(rows, tokenizer, 8)


def export_again(world: World):
    from engine.export.make import Exporter

    run = world.finished_run()
    target = run.path / "exports" / "adapter"
    if not target.exists():
        Exporter(run, "adapter", log=lambda m: None).make()
    world.user = run.path  # the run and its exports are what must not change
    return lambda: Exporter(run, "adapter", log=lambda m: None).make()


def export_disk_full(world: World):
    import engine.export.make as make

    run = world.finished_run()
    world.user = run.path

    def act():
        original = make.shutil.copy2

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        make.shutil.copy2 = full
        try:
            from engine.export.__main__ import main

            main([str(run.path), "--format", "adapter", "--source", "checkpoint-2"])
        finally:
            make.shutil.copy2 = original
    return act


SFT_ROW = {"prompt": "What is 2 plus 3?", "completion": "<answer>5</answer>"}
LLAMA_70B_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
                    "intermediate_size": 28672, "num_hidden_layers": 80, "num_attention_heads": 64,
                    "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": False}
BASE = '[model]\nname = "default"\n[dataset]\nsource = "builtin:arithmetic-sft"\n[method]\nname = "sft"\n'

CASES = [
    # datasets
    Case("dataset", "empty file", dataset("empty.jsonl", ""), r"empty|no rows"),
    Case("dataset", "malformed line", dataset("bad.jsonl", _jsonl([SFT_ROW]) + '{"prompt": "x", \n'),
         r"line 2"),
    Case("dataset", "not UTF-8", dataset("latin.jsonl", '{"prompt": "caf\xe9", "completion": "x"}\n'.encode("latin-1")),
         r"not UTF-8"),
    Case("dataset", "wrong column type", dataset("types.jsonl", _jsonl([{"prompt": 12, "completion": "x"}] * 2)),
         r"[Rr]ow 1.*'prompt'"),
    Case("dataset", "missing column for the method",
         dataset("sft.jsonl", _jsonl([SFT_ROW] * 3), method="dpo"), r"DPO needs preference.*missing columns"),
    Case("dataset", "single-label KTO set",
         dataset("kto.jsonl", _jsonl([{**SFT_ROW, "label": True}] * 3), method="kto"),
         r"KTO needs both desirable .* and undesirable"),
    Case("dataset", "empty answer", dataset("blank.jsonl", _jsonl([SFT_ROW, {"prompt": "x", "completion": ""}])),
         r"[Rr]ow 2.*empty"),
    Case("dataset", "file that does not exist",
         lambda w: (lambda: prepare(DatasetConfig(source=str(w.user / "nope.jsonl")), ("prompt_completion",))),
         r"does not exist"),
    Case("dataset", "unknown built-in",
         lambda w: (lambda: prepare(DatasetConfig(source="builtin:nope"), ("prompt_completion",))),
         r"arithmetic-sft"),
    Case("dataset", "CSV without the mapped column",
         dataset("pairs.csv", "question,reply\n2+3?,5\n", prompt_column="prompt_text"), r"prompt_text"),
    Case("dataset", "text rows for GRPO", dataset("text.jsonl", _jsonl([{"text": "hello"}] * 2), method="grpo"),
         r"does not fit GRPO.*missing column 'prompt'"),
    Case("dataset", "every row longer than the max length", too_long, r"Every one of the 3 rows is longer"),
    Case("dataset", "no such built-in, before any run", preflight("sft", lambda w: ["dataset.source=builtin:nope"]),
         r"dataset\.source: No built-in dataset 'nope'"),
    Case("dataset", "GRPO prompts without the rewards' answer column",
         preflight("grpo", lambda w: [f"dataset.source={w.user / 'prompts.jsonl'}"],
                   {"prompts.jsonl": _jsonl([{"prompt": "2+3?"}] * 2)}),
         r"rewards\.1: reward 'correctness' reads the column 'answer'.*params = \{ column = \"…\" \}"),
    # presets
    Case("preset", "emptied value", preset(BASE + '[training]\nlearning_rate = ""\n'),
         r"training\.learning_rate: is empty; type a value \(the default is 0\.0002\)"),
    Case("preset", "unknown key", preset(BASE + "[training]\nmax_stpes = 3\n"), r"training\.max_stpes"),
    Case("preset", "wrong type", preset(BASE + '[training]\nmax_steps = "ten"\n'), r"training\.max_steps"),
    Case("preset", "out of range", preset(BASE + "[training]\nlearning_rate = -1\n"), r"training\.learning_rate"),
    Case("preset", "method that does not exist", preset(BASE.replace('"sft"', '"sftt"')), r"sftt"),
    Case("preset", "not TOML", preset(BASE + "[training\n"), r"not valid TOML"),
    Case("preset", "unknown section", preset(BASE + "[trainer]\nsteps = 1\n"), r"trainer"),
    Case("preset", "override of a key that is not there", preset(BASE, ["training.stepz=3"]), r"training\.stepz"),
    Case("preset", "override without a value", preset(BASE, ["training.max_steps"]), r"section\.key=value"),
    Case("preset", "unknown method parameter", preset(BASE + "colum = 3\n"), r"has no parameter 'colum'|colum"),
    Case("preset", "NEFTune on a method that does not use it",
         preset(BASE.replace('"sft"', '"dpo"') + "[training]\nneftune_noise_alpha = 5\n"),
         r"training\.neftune_noise_alpha: NEFTune .*DPO does not use it"),
    Case("preset", "DoRA on the Unsloth backend",
         preset(BASE.replace('name = "default"', 'name = "default"\nbackend = "unsloth"') + "[lora]\nuse_dora = true\n"),
         r"lora\.use_dora: Unsloth's fast kernels train plain LoRA"),
    Case("preset", "full fine-tuning of a method that keeps a reference copy",
         preset(BASE.replace('"sft"', '"dpo"') + "[lora]\nenabled = false\n"),
         r"lora\.enabled: lora\.enabled = false trains every weight, which rft offers for SFT and ORPO; DPO needs "
         r"a frozen copy"),
    Case("preset", "full fine-tuning of 4-bit weights", preset(BASE.replace('name = "default"', 'name = "default"\n'
                                                                           'load_in_4bit = true')
                                                               + "[lora]\nenabled = false\n"),
         r"model\.load_in_4bit: lora\.enabled = false trains every weight; 4-bit weights cannot be trained in full"),
    # models
    Case("model", "missing folder", model(lambda w: str(w.user / "no-model")), r"does not exist\. Check model\.name"),
    Case("model", "folder without config.json",
         lambda w: (lambda folder: (lambda: resolve_model(str(folder))))(_write(w, "half/tokenizer.json", "{}").parent),
         r"no config\.json"),
    Case("model", "hub id offline, not cached", model(lambda w: "someone/not-cached-model"),
         r"not in the local Hugging Face cache and the hub is offline"),
    Case("model", "LoRA finds no layer to adapt", lora_targets, r"LoRA cannot be applied"),
    Case("model", "chat dataset, no chat template", worker_error(no_chat_template), r"has no chat template"),
    Case("model", "chat dataset, no chat template, before any run",
         before_any_run(no_chat_template),
         r"model\.chat_template: the model plain-model has no chat template, so the chat \('messages'\) dataset "
         r"'.*chat\.jsonl' cannot be rendered; set model\.chat_template"),
    Case("model", "4-bit without a GPU", lambda w: (lambda: choose_backend("auto", load_in_4bit=True)),
         r"needs a CUDA GPU"),
    Case("model", "packing without Unsloth",
         worker_error(lambda w: {"method": {"name": "sft", "packing": True}}),
         r"method\.packing: packing needs the Unsloth backend .* the packed examples would attend to each other"),
    Case("model", "unknown chat template name", preset('[model]\nchat_template = "chatlm"\n'),
         r"model\.chat_template: .*unknown chat template 'chatlm'; use 'auto'.*chatml, llama3, gemma, qwen3"),
    Case("model", "a Jinja template that drops the answer, before any run",
         preflight("sft", lambda w: [f"model.name={w.tiny_model()}", f"model.chat_template={w.user / 'mine.jinja'}"],
                   {"mine.jinja": "{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}"
                                  "{% endfor %}"}),
         r"model\.chat_template: the chat template \(the file .*mine\.jinja\) cannot be used: it renders a two-turn "
         r"chat without .* answer"),
    Case("model", "a Jinja template that does not parse, before any run",
         preflight("sft", lambda w: [f"model.name={w.tiny_model()}", f"model.chat_template={w.user / 'bad.jinja'}"],
                   {"bad.jinja": "{% for m in messages %}{{ m['content'] }}"}),
         r"model\.chat_template: .*does not render a two-turn chat \(TemplateSyntaxError"),
    Case("model", "thinking asked of a template without it, before any run",
         preflight("sft", lambda w: [f"model.name={w.tiny_model()}", "model.enable_thinking=true"]),
         r"model\.enable_thinking: .*has no thinking switch.*model\.chat_template = 'qwen3'"),
    Case("model", "a named template whose tokens the model lacks, before any run",
         preflight("sft", lambda w: [f"model.name={w.tiny_model()}", "model.chat_template=llama3"]),
         r"model\.chat_template: the 'llama3' template writes the special tokens <\|start_header_id\|>.*does not "
         r"have"),
    # A 70B model's config.json alone (the estimate needs no weights): more than any one machine here has.
    Case("model", "full fine-tuning that will not fit, before any run",
         preflight("sft", lambda w: [f"model.name={w.user / 'big'}", "lora.enabled=false",
                                     "training.learning_rate=2e-5"], {"big/config.json": json.dumps(LLAMA_70B_CONFIG)}),
         r"lora\.enabled: full fine-tuning of this 70\.6B-parameter model needs ~\d+\.\d GiB \(gradients\+optimizer "
         r"\d+\.\d, weights \d+\.\d.*and there is \d+\.\d GiB (of RAM available \(no GPU seen\)|free on the GPU)\. "
         r"Train a LoRA adapter instead \(lora\.enabled = true, ~\d+\.\d GiB\)"),
    Case("model", "a fully fine-tuned run as model.start_from, before any run",
         preflight("sft", lambda w: [f"model.start_from={w.user / 'full-run'}"],
                   {"full-run/adapter/config.json": "{}", "full-run/adapter/model.safetensors": ""}),
         r"model\.start_from: '.*full-run' holds a whole fine-tuned model \(lora\.enabled = false\), not an adapter; "
         r"to train on from it, set model\.name = '.*full-run/adapter'"),
    Case("model", "missing folder, before any run", preflight("sft", lambda w: [f"model.name={w.user / 'gone'}"]),
         r"model\.name: Model folder .* does not exist"),
    # reward functions
    Case("reward", "yours needs a column the data lacks",
         preflight("ppo", lambda w: ['rewards=[{name = "need.py:close"}]'],
                   {"rewards/need.py": "def close(prompts, completions, target, **kw):\n    return [0.0]\n"}),
         r"reward 'need\.py:close' reads the column 'target'.*give close's parameter 'target' a default"),
    Case("reward", "raises", reward("mine.py:boom"), r"'mine\.py:boom'.*raised ValueError: no idea"),
    Case("reward", "hangs", reward("mine.py:sleepy", timeout_s=1.0), r"did not return within 1 s"),
    Case("reward", "wrong number of scores", reward("mine.py:wrong_length"), r"returned 1 scores for 2"),
    Case("reward", "NaN", reward("mine.py:not_a_number"), r"returned nan on the completion"),
    Case("reward", "syntax error", reward("broken.py:f"), r"^reward function 'broken\.py:f' has a syntax error at line 2"),
    Case("reward", "wrong signature", reward("mine.py:no_kwargs"),
         r"^reward function 'mine\.py:no_kwargs' must be defined as def f\(prompts, completions, \*\*kwargs\)"),
    Case("reward", "file outside the rewards folder",
         lambda w: (lambda: __import__("engine.rewards.user_files", fromlist=["x"]).resolve_reward("/etc/x.py:f")),
         r"outside your rewards folder"),
    Case("reward", "unknown built-in", lambda w: (lambda: __import__("engine.rewards", fromlist=["x"])
                                                  .make_reward("formatt")), r"formatt"),
    # evaluation
    Case("eval", "eval dataset of the wrong format",
         preflight("dpo", lambda w: [f"eval.source={w.user / 'answers.jsonl'}"],
                   {"answers.jsonl": _jsonl([SFT_ROW] * 3)}),
         r"eval\.source: the eval dataset '.*answers\.jsonl': .*does not fit DPO"),
    Case("eval", "held-out share that leaves nothing to train on", preflight("sft", lambda w: ["eval.size=0.999"]),
         r"eval\.size: eval\.size = 0\.999 holds out 400 of the dataset's 400 distinct prompts, which leaves none"),
    Case("eval", "metric the method does not log", preset(BASE + '[eval]\nmetric = "eval_reward"\n'),
         r"eval\.metric: SFT with these rewards does not log 'eval_reward'; it logs eval_loss, eval_token_accuracy"),
    Case("eval", "early stopping with no eval rows",
         preflight("sft", lambda w: ["dataset.max_rows=20", "eval.patience=3"]),
         r"eval\.patience: eval\.patience needs eval rows, and eval\.size = 'auto' holds out none of the "
         r"dataset's 20 prompts"),
    # exports
    Case("export", "target exists", export_again, r"already exists.*--force"),
    Case("export", "disk full", export_disk_full, r"The disk is full"),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and p.name not in {"worker.lock"}}


@pytest.fixture(scope="module")
def finished_run(tiny_model_dir, tmp_path_factory):
    from engine.contract.launch import start_run

    runs = tmp_path_factory.mktemp("bad-input-runs")
    run, _ = start_run(tiny_config(tiny_model_dir, runs, training={"max_steps": 2, "save_steps": 2,
                                                                     "sample_every": 0}))
    assert wait_final(run, timeout=300).state == "done"
    return run


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.name}" for c in CASES])
def test_bad_input_is_refused_in_words_and_nothing_of_yours_changes(case, tmp_path, monkeypatch, request, capsys):
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("RFT_REWARDS_DIR", str(user / "rewards"))
    world = World(user, lambda: request.getfixturevalue("tiny_model_dir"),
                  lambda: request.getfixturevalue("finished_run"))
    act = case.setup(world)
    before = _snapshot(world.user)
    try:
        act()
    except REFUSALS as error:
        message = str(error)
    except SystemExit as error:
        message = str(error)
    else:
        # The export process reports through its JSON lines rather than raising.
        lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
        assert lines and lines[-1]["event"] == "error", f"{case.name}: nothing was refused"
        message = lines[-1]["message"]
    assert re.search(case.words, message, re.S), message
    assert "Traceback (most recent call last)" not in message
    assert _snapshot(world.user) == before, "a file of the user's changed"


def case_counts() -> str:
    """The suite's size by area, as the test run's summary prints it (tests/conftest.py)."""
    counts = Counter(c.area for c in CASES)
    return f"bad-input cases: {len(CASES)} ({', '.join(f'{a} {n}' for a, n in counts.items())})"


def test_the_suite_covers_at_least_thirty_cases_across_every_area():
    counts = Counter(c.area for c in CASES)
    assert len(CASES) >= 30 and set(counts) == {"dataset", "preset", "model", "reward", "eval", "export"}
