"""Run directories: creation, atomic status, crash detection, commands, listing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from engine.contract.config import config_from_dict
from engine.contract.run_summary import summarize
from engine.contract.runs import RunDir, RunStatus, create_run, find_run, list_runs


def _config(tmp_path, **output):
    return config_from_dict({"output": {"runs_dir": str(tmp_path), **output}})


def test_create_run_writes_config_and_queued_status(tmp_path):
    run = create_run(_config(tmp_path))
    assert run.name.startswith("sft-smollm2-135m-")
    assert run.load_config().output.runs_dir == str(tmp_path)
    status = run.read_status_file()
    assert status.state == "queued" and status.total == 30


def test_run_names_never_collide(tmp_path):
    names = {create_run(_config(tmp_path, run_name="same")).name for _ in range(3)}
    assert names == {"same", "same-2", "same-3"}


def test_status_file_is_replaced_whole(tmp_path):
    run = create_run(_config(tmp_path))
    run.write_status(RunStatus(state="training", step=3, total=10))
    data = json.loads(run.status_path.read_text())
    assert data["state"] == "training" and data["step"] == 3 and data["updated_at"] > 0
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]


def _hold_lock(run: RunDir) -> subprocess.Popen:
    """A stand-in worker process that holds worker.lock until killed."""
    code = (
        "import fcntl, sys, time\n"
        f"h = open({str(run.lock_path)!r}, 'a+'); fcntl.flock(h, fcntl.LOCK_EX)\n"
        "print('locked', flush=True); time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_live_worker_keeps_its_state_and_a_killed_one_reads_as_crashed(tmp_path):
    run = create_run(_config(tmp_path))
    holder = _hold_lock(run)
    run.write_status(RunStatus(state="training", pid=holder.pid, step=2, total=10))
    assert run.status().state == "training"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    status = run.status()
    assert status.state == "crashed" and "worker.log" in status.message
    assert status.step == 2


def test_final_states_are_believed_without_a_worker(tmp_path):
    run = create_run(_config(tmp_path))
    run.write_status(RunStatus(state="done", step=30, total=30))
    assert run.status().state == "done"


def test_queued_run_whose_launcher_pid_is_gone_reads_as_crashed(tmp_path):
    run = create_run(_config(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.launch_path.write_text(json.dumps({"pid": dead.pid, "launched_at": time.time()}))
    assert run.status().state == "crashed"


def test_commands_are_read_once_in_order(tmp_path):
    run = create_run(_config(tmp_path))
    reader = run.command_reader()
    run.send_command("save-now")
    run.send_command("stop")
    assert reader.poll() == ["save-now", "stop"]
    assert reader.poll() == []


def test_list_find_and_summarize(tmp_path):
    first = create_run(_config(tmp_path, run_name="a"))
    create_run(_config(tmp_path, run_name="b"))
    (tmp_path / "not-a-run").mkdir()
    assert sorted(r.name for r in list_runs(tmp_path)) == ["a", "b"]
    assert find_run("a", tmp_path).path == first.path
    assert find_run(str(first.path)).name == "a"
    with open(first.events_path, "a") as handle:
        handle.write(json.dumps({"v": 1, "t": 1, "type": "metrics", "step": 4, "values": {"loss": 1.25}}) + "\n")
    first.write_status(RunStatus(state="done", step=4, total=30))
    summary = summarize(first)
    assert (summary.state, summary.method, summary.progress, summary.metrics["loss"]) == ("done", "sft", "4/30", 1.25)


def test_summarizer_reads_only_appended_events(tmp_path):
    from engine.contract.run_summary import RunSummarizer

    run = create_run(_config(tmp_path, run_name="inc"))
    summarizer = RunSummarizer()

    def emit(step, loss):
        with open(run.events_path, "a") as handle:
            handle.write(json.dumps({"v": 1, "t": 1, "type": "metrics", "step": step, "values": {"loss": loss}}) + "\n")

    emit(1, 2.0)
    assert summarizer.summarize(run).metrics["loss"] == 2.0
    emit(2, 1.5)
    tail = summarizer._seen[str(run.path)][0]
    before = tail.offset
    assert summarizer.summarize(run).metrics["loss"] == 1.5
    assert tail.offset > before  # it went on from where it stopped
