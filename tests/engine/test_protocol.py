"""The event protocol: append, tail from an offset, tolerate a torn last line."""

from __future__ import annotations

import json

from engine.contract.protocol import SCHEMA_VERSION, EventTail, EventWriter, canonical_metrics, read_events


def test_events_carry_version_time_and_type(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl")
    writer.emit("metrics", step=1, values={"loss": 2.0})
    event = read_events(tmp_path / "events.jsonl")[0]
    assert event["v"] == SCHEMA_VERSION and event["type"] == "metrics" and event["t"] > 0


def test_each_event_is_readable_as_soon_as_it_is_emitted(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl")
    tail = EventTail(tmp_path / "events.jsonl")
    writer.emit("status", state="loading")
    assert [e["state"] for e in tail.read_new()] == ["loading"]
    writer.emit("status", state="training")
    writer.emit("status", state="done")
    assert [e["state"] for e in tail.read_new()] == ["training", "done"]
    assert tail.read_new() == []


def test_a_torn_last_line_waits_until_it_is_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    line = json.dumps({"v": 1, "t": 1.0, "type": "log", "message": "hello"})
    path.write_text(line[:10])
    tail = EventTail(path)
    assert tail.read_new() == []
    with open(path, "a") as handle:
        handle.write(line[10:] + "\n")
    assert tail.read_new()[0]["message"] == "hello"


def test_a_torn_line_followed_by_more_events_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "events.jsonl"
    good = json.dumps({"v": 1, "t": 1.0, "type": "log", "message": "after"})
    path.write_text('{"v": 1, "t": 1.0, "ty\n' + good + "\n")
    tail = EventTail(path)
    assert [e["message"] for e in tail.read_new()] == ["after"]
    assert tail.skipped == 1


def test_missing_file_reads_as_no_events(tmp_path):
    assert read_events(tmp_path / "nope.jsonl") == []


def test_canonical_metric_names():
    values = canonical_metrics({"learning_rate": 1e-4, "mean_token_accuracy": 0.5, "loss": 1.0, "note": "x",
                                "flag": True})
    assert values == {"lr": 1e-4, "token_accuracy": 0.5, "loss": 1.0}


def test_trainer_specific_names_become_canonical():
    values = canonical_metrics({"rewards/margins": 0.5, "rewards/accuracies": 1.0, "rewards/format/mean": 0.25,
                                "rewards/format/std": 0.1, "clip_ratio/region_mean": 0.02, "mean_reward": 0.3})
    assert values == {"margin": 0.5, "accuracy": 1.0, "rewards/format": 0.25, "rewards/format_std": 0.1,
                      "clip_fraction": 0.02, "reward": 0.3}


def test_read_lines_reads_a_long_file_in_chunks_and_a_line_longer_than_one_whole(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps({"v": 1, "t": 1.0, "type": "log", "message": f"line {i}"}) for i in range(200)]
    lines[50] = json.dumps({"v": 1, "t": 1.0, "type": "log", "message": "x" * 5_000})  # longer than a chunk
    path.write_text("".join(line + "\n" for line in lines) + lines[0][:20])  # and a torn last line
    tail = EventTail(path)
    read, chunks = [], 0
    while True:
        got = tail.read_lines(max_bytes=1_000)
        read += got
        chunks += 1
        assert all(line.endswith(b"}") for line in got)  # whole lines only, never a piece of one
        if not tail.more:
            break
    assert chunks > 5 and [line.decode() for line in read] == lines
    assert tail.read_lines(max_bytes=1_000) == [] and not tail.more  # the torn line waits for its newline
    with open(path, "a") as handle:
        handle.write(lines[0][20:] + "\n")
    assert [tail.parse_line(line) for line in tail.read_lines(max_bytes=1_000)] == [json.loads(lines[0])]
