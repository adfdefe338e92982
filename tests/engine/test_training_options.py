"""Options every trainer has (DoRA, rsLoRA, NEFTune, epochs), each through the real worker on the tiny model, each
checked by what it changes: a field that were ignored would leave these runs the same as a plain one."""

from __future__ import annotations

import json

from safetensors.torch import load_file

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.contract.runs import RunDir
from tests.conftest import tiny_config, wait_final
from tests.engine.test_export import _done, export


def _run(model_dir, runs_dir, **sections) -> RunDir:
    training = {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-2, "sample_every": 0, "seed": 3,
                **sections.pop("training", {})}
    run, _ = start_run(tiny_config(model_dir, runs_dir, training=training, eval={"size": 8, "every": 0}, **sections))
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    return run


def _values(run: RunDir, kind: str, name: str) -> dict[int, float]:
    return {e["step"]: e["values"][name] for e in read_events(run.events_path) if e["type"] == kind}


def test_dora_and_rslora_reach_the_adapter_and_its_merged_export(tiny_model_dir, tmp_path):
    plain = _run(tiny_model_dir, tmp_path / "plain")
    dora = _run(tiny_model_dir, tmp_path / "dora", lora={"use_dora": True, "use_rslora": True})
    plain_config = json.loads((plain.adapter_dir / "adapter_config.json").read_text())
    dora_config = json.loads((dora.adapter_dir / "adapter_config.json").read_text())
    assert (plain_config["use_dora"], plain_config["use_rslora"]) == (False, False)
    assert (dora_config["use_dora"], dora_config["use_rslora"]) == (True, True)
    # DoRA trains a magnitude per output of each adapted layer; LoRA has none.
    magnitudes = [k for k in load_file(dora.adapter_dir / "adapter_model.safetensors") if "lora_magnitude" in k]
    assert magnitudes and not [k for k in load_file(plain.adapter_dir / "adapter_model.safetensors")
                               if "lora_magnitude" in k]
    # rsLoRA scales the update by alpha/sqrt(r) (32/4 = 8), LoRA by alpha/r (2): as PEFT reads it back.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    for run, scaling in ((plain, 2.0), (dora, 8.0)):
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run.adapter_dir)
        scalings = {m.scaling["default"] for m in model.modules() if isinstance(getattr(m, "scaling", None), dict)}
        assert scalings == {scaling}, run.path
    # Same seed, same data: only the adapter's form differs, and the training does with it.
    assert _values(dora, "metrics", "loss")[2] != _values(plain, "metrics", "loss")[2]
    # Merging folds the magnitudes into the weights: the merged model answers as the adapter does.
    code, events = export(dora, "--format", "merged")
    assert code == 0, events[-1]
    _done(events)


def test_neftune_noises_sfts_training_forward_and_not_its_evaluation(tiny_model_dir, tmp_path):
    plain = _run(tiny_model_dir, tmp_path / "plain")
    noisy = _run(tiny_model_dir, tmp_path / "noisy", training={"neftune_noise_alpha": 50.0})
    # Step 1's loss is the model's forward on the first batch, before any update: noise alone moves it.
    assert _values(noisy, "metrics", "loss")[1] != _values(plain, "metrics", "loss")[1]
    # Evaluation runs the model without the noise: the base model's eval loss is the same in both runs.
    assert _values(noisy, "eval", "eval_loss")[0] == _values(plain, "eval", "eval_loss")[0]


def test_epochs_set_the_step_count_the_progress_bar_and_the_trainer_use(tiny_model_dir, tmp_path):
    """20 rows, 8 of their prompts held out: 2.5 passes over the 12 left, at 4 rows a step, is 8 steps."""
    from engine.planning.epochs import epoch_steps, training_rows

    run = _run(tiny_model_dir, tmp_path / "epochs", dataset={"source": "builtin:arithmetic-sft", "max_rows": 20},
               training={"num_epochs": 2.5})
    config = run.load_config()
    assert training_rows(config, 20, 20) == 12 and epoch_steps(config, 20, 20) == 8  # ceil(2.5 × ceil(12 / 4))
    status = run.read_status_file()
    assert (status.step, status.total) == (8, 8)  # max_steps (2 in these runs) gave way to the epochs
    assert max(e["step"] for e in read_events(run.events_path) if e["type"] == "metrics") == 8
    logs = " ".join(e.get("message", "") for e in read_events(run.events_path) if e["type"] == "log")
    assert "training.num_epochs = 2.5: 8 steps over 12 training rows, 4 a step" in logs
    # The launch remembered the model folder for the model picker (the suite's own list, see conftest).
    from engine.contract.recent_models import recent_model_folders

    assert tiny_model_dir.resolve() in recent_model_folders()
