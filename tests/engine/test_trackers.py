"""``output.report_to``: the trackers' own readers read back what ``events.jsonl`` says, each step once.

Real tiny-model runs through the real worker; TensorBoard's files are read
with TensorBoard's ``EventAccumulator``, trackio's store with its own
``SQLiteStorage``, W&B's offline file with a reader of its record format.
"""

from __future__ import annotations

import os
import signal
import struct

import pytest

from engine.contract.launch import resume_run, start_run
from engine.contract.protocol import read_events
from engine.contract.runs import RunDir
from engine.planning.capabilities import importable
from tests.conftest import tiny_config, wait_final, wait_for


def _config(tiny_model_dir, runs_dir, trackers: list[str], max_steps: int = 12):
    return tiny_config(tiny_model_dir, runs_dir, output={"report_to": trackers},
                       training={"max_steps": max_steps, "batch_size": 4, "learning_rate": 1e-2, "save_steps": 3,
                                 "sample_every": 3, "seed": 7}, eval={"every": 3, "prompts": 2},
                       rewards=[{"name": "format"}])


def _canonical(run: RunDir, kind: str, name: str) -> dict[int, float]:
    """A value per step as rft's own readers see it: a resume drops the later points of the attempt before."""
    values: dict[int, float] = {}
    for event in read_events(run.events_path):
        if event["type"] == "resume":
            values = {step: value for step, value in values.items() if step <= event["step"]}
        elif event["type"] == kind and name in event.get("values", {}):
            values[event["step"]] = event["values"][name]
    return values


def _tensorboard(run: RunDir, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(run.path / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    reader.Reload()
    return [(e.step, e.value) for e in reader.Scalars(tag)]


def test_a_killed_and_resumed_run_leaves_tensorboard_each_step_once_with_its_events_values(tiny_model_dir, tmp_path):
    run, process = start_run(_config(tiny_model_dir, tmp_path / "runs", ["tensorboard"]))
    wait_for(run, lambda s: s.step >= 5, timeout=300, what="step 5")
    os.kill(process.pid, signal.SIGKILL)  # after a checkpoint, so steps after it are logged twice in events.jsonl
    process.wait()
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done"
    resumed_at = [e["step"] for e in read_events(run.events_path) if e["type"] == "resume"]
    assert len(resumed_at) == 1 and resumed_at[0] >= 3

    loss = _tensorboard(run, "loss")
    assert [step for step, _ in loss] == list(range(1, 13))  # each step once, in order
    assert dict(loss) == pytest.approx(_canonical(run, "metrics", "loss"), rel=1e-6)  # stored as float32
    evals = _tensorboard(run, "eval_loss")
    assert dict(evals) == pytest.approx(_canonical(run, "eval", "eval_loss"), rel=1e-6) and evals[0][0] == 0
    assert dict(_tensorboard(run, "eval_rewards/format")) == \
        pytest.approx(_canonical(run, "eval", "eval_rewards/format"), rel=1e-6)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(run.path / "tensorboard"), size_guidance={"tensors": 0})
    reader.Reload()
    assert {"config", "samples", "eval_samples"} <= {tag.split("/")[0] for tag in reader.Tags()["tensors"]}
    config_text = reader.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "report_to" in config_text and "max_steps = 12" in config_text


def test_a_tracker_that_is_not_installed_is_refused_before_the_model_loads(tiny_model_dir, tmp_path, monkeypatch):
    from engine.planning import capabilities

    monkeypatch.setattr(capabilities, "importable", lambda package: package != "wandb")
    config = _config(tiny_model_dir, tmp_path / "runs", ["tensorboard", "wandb"])
    [lack] = capabilities.missing(config, gpus=0)
    assert lack.path == "output.report_to" and "pip install" in lack.message and "wandb" in lack.message


def _trackio_logs(run: RunDir, monkeypatch) -> list[dict]:
    """What trackio's own reader finds in the run's store (trackio fixes its folder when first imported)."""
    from trackio import sqlite_storage

    monkeypatch.setattr(sqlite_storage, "TRACKIO_DIR", run.path / "trackio")
    return sqlite_storage.SQLiteStorage.get_logs("rft", run.name)


@pytest.mark.skipif(not importable("trackio"), reason="trackio is not installed here")
def test_trackios_store_reads_back_the_events_values(tiny_model_dir, tmp_path, monkeypatch):
    run, _ = start_run(_config(tiny_model_dir, tmp_path / "runs", ["trackio"], max_steps=6))
    assert wait_final(run, timeout=300).state == "done"
    logs = _trackio_logs(run, monkeypatch)
    loss = {row["step"]: row["loss"] for row in logs if "loss" in row}
    assert loss == pytest.approx(_canonical(run, "metrics", "loss"))
    assert {row["step"]: row["eval_loss"] for row in logs if "eval_loss" in row} == \
        pytest.approx(_canonical(run, "eval", "eval_loss"))
    assert any("samples" in row for row in logs)


def _wandb_records(path) -> list:
    """The records of a W&B ``.wandb`` file: LevelDB's log format (32 KiB blocks of crc, length, type,
    data; a record may span blocks) after a 7-byte header, each record a ``wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    block, offset, pending, records = 32768, 7, b"", []
    while offset + 7 <= len(data):
        room = block - offset % block
        if room < 7:
            offset += room
            continue
        _, length, kind = struct.unpack("<IHB", data[offset:offset + 7])
        pending += data[offset + 7:offset + 7 + length]
        offset += 7 + length
        if kind in (1, 4):  # a whole record, or the last part of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
        elif kind == 0:
            break
    return records


def _wandb_history(run: RunDir) -> list[dict]:
    """Every history row W&B wrote offline for the run, attempt after attempt (one file each)."""
    import json

    rows = []
    for offline in sorted((run.path / "wandb").glob("offline-run-*/run-*.wandb")):
        for record in _wandb_records(offline):
            if record.WhichOneof("record_type") == "history":
                rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
    return rows


@pytest.mark.skipif(not importable("wandb"), reason="wandb is not installed here")
def test_wandb_writes_offline_files_that_hold_the_events_values(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)  # without a key nothing may be sent
    run, _ = start_run(_config(tiny_model_dir, tmp_path / "runs", ["wandb"], max_steps=6))
    assert wait_final(run, timeout=300).state == "done"
    assert len(list((run.path / "wandb").glob("offline-run-*/run-*.wandb"))) == 1
    loss = {row["_step"]: row["loss"] for row in _wandb_history(run) if "loss" in row}
    assert loss == pytest.approx(_canonical(run, "metrics", "loss"))


@pytest.mark.skipif(not (importable("trackio") and importable("wandb")), reason="trackio or wandb is not installed")
def test_each_stage_of_a_two_stage_run_keeps_its_own_curves_in_every_tracker(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    config = tiny_config(tiny_model_dir, tmp_path / "runs", dataset={"source": "builtin:arithmetic-prompts"},
                         method={"name": "rm_ppo", "rm_steps": 3, "max_new_tokens": 8}, eval={"every": 0},
                         training={"max_steps": 2, "batch_size": 2}, output={"report_to": ["tensorboard", "trackio",
                                                                                           "wandb"]})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done", run.log_path.read_text()[-3000:]
    assert not [e for e in read_events(run.events_path) if e["type"] == "log" and e.get("level") == "warning"
                and "stopped receiving" in e["message"]]
    by_stage = {stage: {e["step"]: e["values"]["loss"] for e in read_events(run.events_path)
                        if e["type"] == "metrics" and e.get("stage") == stage and "loss" in e["values"]}
                for stage in ("rm", "ppo")}
    assert list(by_stage["rm"]) == [1, 2, 3] and list(by_stage["ppo"]) == [1, 2]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for stage, losses in by_stage.items():
        reader = EventAccumulator(str(run.path / "tensorboard" / stage))
        reader.Reload()
        assert {e.step: e.value for e in reader.Scalars("loss")} == pytest.approx(losses, rel=1e-6)
    logs = _trackio_logs(run, monkeypatch)
    assert {row["step"]: row["rm/loss"] for row in logs if "rm/loss" in row} == pytest.approx(by_stage["rm"])
    ppo = {row["ppo/step"]: row["ppo/loss"] for row in _wandb_history(run) if "ppo/loss" in row}
    assert ppo == pytest.approx(by_stage["ppo"])


@pytest.mark.skipif(not (importable("trackio") and importable("wandb")), reason="trackio or wandb is not installed")
def test_a_stopped_and_resumed_run_has_each_step_once_in_every_tracker(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    run, _ = start_run(_config(tiny_model_dir, tmp_path / "runs", ["tensorboard", "trackio", "wandb"]))
    wait_for(run, lambda s: s.step >= 4, timeout=300, what="step 4")
    run.send_command("stop")
    assert wait_final(run, timeout=300).state == "stopped"
    resume_run(run)
    assert wait_final(run, timeout=300).state == "done"
    want = _canonical(run, "metrics", "loss")
    assert list(want) == list(range(1, 13))

    assert [step for step, _ in _tensorboard(run, "loss")] == list(want)
    trackio_steps = [row["step"] for row in _trackio_logs(run, monkeypatch) if "loss" in row]
    assert trackio_steps == list(want)
    assert [row["_step"] for row in _wandb_history(run) if "loss" in row] == list(want)


def test_a_tracker_that_fails_is_left_out_with_a_warning_and_the_others_go_on(tmp_path):
    class Broken:
        replaces_resumed_steps = False

        def scalars(self, stage, step, values):
            raise OSError("disk quota exceeded")

    class Kept:
        replaces_resumed_steps = False

        def __init__(self):
            self.steps = []

        def scalars(self, stage, step, values):
            self.steps.append(step)

    from engine.tracking.feed import TrackerFeed

    warnings, kept = [], Kept()
    feed = TrackerFeed({"wandb": Broken(), "trackio": kept}, earlier=[{"type": "metrics", "step": 1}],
                       warn=warnings.append)
    for step in (1, 2, 3):  # step 1 is an earlier attempt's: not sent again
        feed({"type": "metrics", "step": step, "values": {"loss": 1.0}})
    assert kept.steps == [2, 3] and list(feed.sinks) == ["trackio"]
    assert len(warnings) == 1 and "wandb stopped receiving" in warnings[0] and "disk quota" in warnings[0]
    missing = TrackerFeed.for_run(tmp_path, "run", ["nonesuch"], {}, "", tmp_path / "events.jsonl", warnings.append)
    assert missing.sinks == {} and "nonesuch could not be opened" in warnings[-1]
