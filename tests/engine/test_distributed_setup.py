"""What a run of several processes asks of the machine, checked before it starts, and how it is launched.

The sharded strategies and vLLM need CUDA, which this machine lacks: the pre-flight refuses them
here, which these tests check through ``rft train`` itself. Where a test says the machine has GPUs,
it sets ``CUDA_VISIBLE_DEVICES`` (what ``num_processes = 'auto'`` and the check count) to stand in for
them: no GPU is touched. The launch commands are the ones ``rft launch-command`` prints, checked by
starting a job from them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine.contract.runs import find_run
from engine.planning.capabilities import importable, missing, processes_line
from engine.planning.memory_estimate import ModelShape, estimate
from tests.conftest import tiny_config


def _rft(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rft_tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})


@pytest.mark.parametrize("setting, key, reason", [
    ("distributed.strategy=zero3", "distributed.strategy", "needs CUDA GPUs"),
    ("distributed.strategy=fsdp2", "distributed.strategy", "needs CUDA GPUs"),
    ("method.vllm_mode=colocate", "method.vllm_mode", "needs a CUDA GPU"),
])
def test_train_refuses_what_this_machine_cannot_run_before_starting(tiny_model_dir, tmp_path, setting, key, reason):
    preset = "grpo" if setting.startswith("method.") else "sft"
    result = _rft("train", preset, "--set", f"model.name={tiny_model_dir}", "--set", "distributed.num_processes=2",
                  "--set", setting, "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "would fail, so it was not started" in result.stdout
    assert key in result.stdout and reason in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "runs").exists()


def test_with_gpus_the_check_names_the_missing_package_and_the_gpu_count(tiny_model_dir, tmp_path):
    def lacks(gpus: int, **sections) -> dict[str, str]:
        config = tiny_config(tiny_model_dir, tmp_path / "runs", **sections)
        return {found.path: found.message for found in missing(config, gpus=gpus)}

    zero = lacks(2, distributed={"num_processes": 2, "strategy": "zero2"})
    if importable("deepspeed"):
        assert zero == {}
    else:
        assert "pip install deepspeed" in zero["distributed.strategy"]
    assert lacks(2, distributed={"num_processes": 2, "strategy": "fsdp2"}) == {}  # torch's own: nothing to add
    assert lacks(2, distributed={"num_processes": 2, "strategy": "fsdp2"},
                 model={"load_in_4bit": True})["model.load_in_4bit"].startswith("distributed.strategy = 'fsdp2'")
    assert "shows 2 GPU(s)" in lacks(2, distributed={"num_processes": 4})["distributed.num_processes"]
    assert lacks(2, distributed={"num_processes": "auto"}) == {}
    assert lacks(0, distributed={"num_processes": 2}) == {}  # DDP runs on CPU ranks too
    grpo = {"dataset": {"source": "builtin:arithmetic-prompts"}, "rewards": [{"name": "format"}]}
    if not importable("vllm"):
        assert "pip install vllm" in lacks(1, method={"name": "grpo", "vllm_mode": "server"}, **grpo)["method.vllm_mode"]


def test_the_setup_line_says_how_the_run_is_split_and_why_not_unsloth(tiny_model_dir, tmp_path):
    one = tiny_config(tiny_model_dir, tmp_path / "runs")
    assert processes_line(one, gpus=0) is None
    zero3 = tiny_config(tiny_model_dir, tmp_path / "runs", distributed={"num_processes": "auto", "strategy": "zero3"})
    line = processes_line(zero3, gpus=4)
    assert line.startswith("4 processes · zero3: DeepSpeed ZeRO-3")
    assert "not Unsloth" in line and "sharding" in line
    ddp = tiny_config(tiny_model_dir, tmp_path / "runs", distributed={"num_processes": 2, "num_machines": 2,
                                                                      "main_process_ip": "10.0.0.1"})
    assert processes_line(ddp, gpus=0) == "4 processes on 2 machines · ddp: every process holds the whole model " \
        "and trains on its own share of each batch (the default)"


def test_the_memory_estimate_is_one_gpus_share_of_a_sharded_job(tiny_model_dir, tmp_path):
    shape = ModelShape(hidden=4096, layers=32, intermediate=14336, vocab=128256, heads=32, kv_heads=8)

    def parts(strategy: str, world: int) -> dict[str, float]:
        config = tiny_config(tiny_model_dir, tmp_path / "runs", distributed={"num_processes": world,
                                                                             "strategy": strategy})
        return estimate(config, shape, "cuda", "bfloat16", False, world_size=world).parts

    alone, ddp, zero2, zero3, fsdp2 = (parts("ddp", 1), parts("ddp", 4), parts("zero2", 4), parts("zero3", 4),
                                       parts("fsdp2", 4))
    assert ddp == alone  # each GPU of a DDP job holds it all
    assert zero2["weights"] == alone["weights"]
    assert zero2["adapter+optimizer"] == pytest.approx(alone["adapter+optimizer"] / 4)
    for sharded in (zero3, fsdp2):
        assert sharded["weights"] == pytest.approx(alone["weights"] / 4)
        assert sharded["activations"] == alone["activations"]  # each GPU runs its own micro-batch
    assert sum(zero3.values()) < sum(zero2.values()) < sum(alone.values())


def test_the_sharded_strategies_become_trainer_arguments_transformers_accepts():
    from transformers import TrainingArguments

    from engine.contract.distributed_config import DistributedConfig
    from engine.training.sharding import sharding_arguments

    fsdp = sharding_arguments(DistributedConfig(num_processes=2, strategy="fsdp2"), 2, on_gpu=True)
    arguments = TrainingArguments(output_dir="unused", use_cpu=True, report_to="none", **fsdp)
    assert arguments.fsdp_plugin_args["fsdp_version"] == 2
    assert arguments.fsdp_plugin_args["state_dict_type"] == "FULL_STATE_DICT"
    stages = {strategy: sharding_arguments(DistributedConfig(num_processes=2, strategy=strategy), 2, True)
              ["deepspeed"]["zero_optimization"]["stage"] for strategy in ("zero2", "zero3")}
    assert stages == {"zero2": 2, "zero3": 3}
    # One process, DDP, or a CPU: the Trainer's own defaults.
    assert sharding_arguments(DistributedConfig(num_processes=1, strategy="zero3"), 1, True) == {}
    assert sharding_arguments(DistributedConfig(num_processes=2, strategy="ddp"), 2, True) == {}
    assert sharding_arguments(DistributedConfig(num_processes=2, strategy="fsdp2"), 2, False) == {}


def test_create_only_makes_the_run_and_launch_command_prints_every_machines_command(tiny_model_dir, tmp_path):
    runs = tmp_path / "runs"
    created = _rft("train", "sft", "--set", f"model.name={tiny_model_dir}", "--set", "distributed.num_machines=3",
                   "--set", "distributed.main_process_ip=10.1.2.3", "--set", "distributed.strategy=zero3",
                   "--runs-dir", str(runs), "--create-only")
    # ZeRO-3 needs CUDA: what this machine lacks does not count for a run a scheduler starts elsewhere.
    assert created.returncode == 0, created.stdout + created.stderr
    assert "created in" in created.stdout and "not started" in created.stdout
    run = find_run(next(runs.iterdir()))
    assert not run.worker_alive() and not run.log_path.exists()
    printed = _rft("launch-command", str(run.path))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == created.stdout.split("not started\n", 1)[1]
    lines = printed.stdout.splitlines()
    assert "3 machine(s) × 1 process(es), strategy zero3" in lines[0]
    assert "10.1.2.3:29500" in printed.stdout
    for rank in range(3):
        line = next(line for line in lines if line.strip().startswith(f"machine {rank}:"))
        assert f"-m engine.training.job {run.path.resolve()} --machine-rank {rank}" in line
    assert "srun --nodes 3 --ntasks-per-node 1" in printed.stdout and "$SLURM_NODEID" in printed.stdout
    resume = _rft("launch-command", str(run.path), "--resume")
    assert "--machine-rank 1 --resume" in resume.stdout
    unknown = _rft("launch-command", "no-such-run", "--runs-dir", str(runs))
    assert unknown.returncode == 2 and "Traceback" not in unknown.stdout + unknown.stderr
