"""A rank of a two-process job runs out of memory: the job lightens the setup and starts again.

The error is injected (``RFT_INJECT_OOM_AT_STEP``: a CPU has no memory limit to hit), at the same step
on both ranks, as a batch too big for the GPUs would be; the job, torchrun, the workers and the
recovery are the real ones.
"""

from __future__ import annotations

from engine.contract.launch import start_run
from engine.contract.protocol import read_events
from engine.training.oom_inject import ENV
from tests.conftest import tiny_config, wait_final


def test_an_out_of_memory_rank_makes_the_job_lighten_its_setup_and_resume_to_the_end(tiny_model_dir, tmp_path, monkeypatch):
    config = tiny_config(tiny_model_dir, tmp_path / "runs", distributed={"num_processes": 2}, eval={"every": 0},
                         training={"max_steps": 6, "batch_size": 2, "sample_every": 0, "save_steps": 1})
    monkeypatch.setenv(ENV, "3")
    run, job = start_run(config)
    status = wait_final(run, 300)
    assert status.state == "done", (status, run.log_path.read_text()[-3000:])
    assert job.wait(timeout=60) == 0
    events = read_events(run.events_path)
    adjusted = [e for e in events if e["type"] == "adjusted"]
    assert len(adjusted) == 1, adjusted
    # The first remedy is the single-GPU one: checkpointing, the numbers unchanged.
    assert {c["key"]: (c["from"], c["to"]) for c in adjusted[0]["changes"]} == \
        {"training.gradient_checkpointing": (False, True)}
    assert "out of memory in step 4" in adjusted[0]["message"]
    steps = [e["step"] for e in events if e["type"] == "metrics" and "loss" in e["values"]]
    assert sorted(set(steps)) == list(range(1, 7)) and steps[-1] == 6
    saved = run.load_config()
    assert saved.training.gradient_checkpointing and saved.training.batch_size == 2
    assert saved.distributed.num_processes == 2 and run.status().world_size == 2
    assert (run.adapter_dir / "adapter_model.safetensors").is_file()
