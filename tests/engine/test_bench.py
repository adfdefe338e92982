"""The benchmarks' parsing and summary helpers, on made-up numbers (no timing is asserted here)."""

from __future__ import annotations

import json

from bench.event_stream import ROLLOUTS, step_events, write_finished_run
from bench.first_step import PHASES, overlap, phase_times
from bench.grpo_generation import bare_speeds, rft_summary, step_breakdown
from bench.step_log import StepPoint, bare_steps, first_difference, median_step_per_s, rft_steps, steps_per_s
from bench.ui_load import key_stats, lag_stats
from engine.contract.protocol import read_events


def test_steps_per_second_and_first_differing_step(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in [
        {"type": "status", "t": 0.0, "state": "training"},
        {"type": "metrics", "t": 10.0, "step": 1, "values": {"loss": 2.0, "grad_norm": 1.0}},
        {"type": "metrics", "t": 10.5, "step": 2, "values": {"loss": 1.5, "grad_norm": 0.9}},
        {"type": "metrics", "t": 11.0, "step": 3, "values": {"loss": 1.0, "grad_norm": 0.8}}]))
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(json.dumps(r) + "\n" for r in [
        {"t": 0.0, "phase": "started"},
        {"t": 20.0, "step": 1, "logs": {"loss": 2.0, "grad_norm": 1.0}},
        {"t": 21.0, "step": 2, "logs": {"loss": 1.5, "grad_norm": 0.9}},
        {"t": 22.0, "step": 3, "logs": {"loss": 1.25, "grad_norm": 0.8, "learning_rate": 1e-4}},
        {"t": 22.1, "step": 3, "logs": {"train_runtime": 2.0, "train_loss": 1.5}}]))
    rft, plain = rft_steps(events), bare_steps(bare)
    assert [p.step for p in rft] == [p.step for p in plain] == [1, 2, 3]
    assert steps_per_s(rft) == 2.0 and steps_per_s(plain) == 1.0
    assert median_step_per_s(rft) == 2.0 and median_step_per_s(plain) == 1.0
    assert first_difference(rft, plain) == "step 3: loss 1.0 vs 1.25"
    assert plain[2].values["lr"] == 1e-4  # TRL's names become rft's canonical ones
    assert first_difference(rft, rft) is None
    assert "logged steps differ" in first_difference(rft, plain[:2])
    assert steps_per_s([StepPoint(1, 5.0, {})]) != steps_per_s([StepPoint(1, 5.0, {})])  # NaN: too few steps


def test_phases_leave_out_the_imports_they_contain():
    events = [{"type": "status", "t": 1.0, "state": "loading", "message": "reading the config"},
              {"type": "status", "t": 4.0, "state": "loading", "message": "checking dataset builtin:x"},
              {"type": "status", "t": 4.5, "state": "loading", "message": "loading model default"},
              {"type": "model", "t": 9.0},
              {"type": "status", "t": 10.0, "state": "training"},
              {"type": "metrics", "t": 12.0, "step": 1, "values": {}}]
    spans = [(1.5, 3.5, "torch"), (5.0, 6.0, "transformers"), (9.2, 9.7, "trl")]
    assert overlap(spans, 0.0, 4.0) == 2.0
    times = phase_times(0.0, events, spans)
    assert list(times) == [*PHASES, "imports", "total"]
    assert times["process start, config, backend"] == 2.0 and times["model load"] == 3.5
    assert times["trainer set-up"] == 0.5 and times["step 1"] == 2.0
    assert times["imports"] == 3.5 and times["total"] == 12.0


def test_grpo_step_breakdown_pairs_trl_timings_with_steps():
    events = [{"type": "metrics", "t": 100.0, "step": 1, "values": {"completion_length": 40.0,
                                                                     "completions/max_length": 64.0}},
              {"type": "metrics", "t": 110.0, "step": 2, "values": {"completion_length": 30.0,
                                                                     "completions/max_length": 50.0}}]
    timings = [{"name": "GRPOTrainer.transformers.generate", "step": 0, "seconds": 7.0},
               {"name": "GRPOTrainer.transformers.generate", "step": 1, "seconds": 5.0},
               {"name": "GRPOTrainer._calculate_rewards", "step": 1, "seconds": 0.1},
               {"name": "GRPOTrainer.compute_loss", "step": 1, "seconds": 2.5}]
    steps = step_breakdown(events, timings, group=12)
    assert steps == [{"step": 2, "wall": 10.0, "generate": 5.0, "rewards": 0.1, "loss": 2.5, "positions": 600.0,
                      "tokens": 360.0}]
    summary = rft_summary(steps)
    assert summary["generate_share"] == 0.5 and summary["loss_share"] == 0.25
    assert summary["positions_per_s"] == 120.0 and summary["tokens_per_s"] == 72.0
    bare = bare_speeds([{"seconds": 9.0, "sequences": 12, "decode_steps": 64, "tokens": 400},
                        {"seconds": 4.0, "sequences": 12, "decode_steps": 40, "tokens": 300}])
    assert bare == {"positions_per_s": 120.0, "tokens_per_s": 75.0}  # the first call (warm-up) is left out


def test_lag_statistics():
    lags = [0.001] * 90 + [0.030] * 5 + [0.080] * 4 + [0.500]
    stats = lag_stats(lags)
    assert stats["p50_ms"] == 1.0 and stats["p95_ms"] == 80.0 and stats["max_ms"] == 500.0
    assert abs(stats["stalled_s"] - 0.82) < 1e-9


def test_each_key_is_paired_with_the_first_change_shown_after_it():
    # The third key's change never came (say the app was closing): it is left out, not paired with a later one.
    stats = key_stats(typed=[1.0, 2.0, 3.0], shown=[1.040, 2.010])
    assert stats["keys"] == 2 and round(stats["key_max_ms"]) == 40 and round(stats["key_p50_ms"]) == 40
    assert key_stats([1.0], [])["keys"] == 0


def test_a_finished_run_for_replay_has_the_events_asked_for(tmp_path):
    assert len(step_events(1, 0.0, __import__("random").Random(0))) == 1 + ROLLOUTS
    run = write_finished_run(tmp_path, "replay", 500)
    events = read_events(run.events_path)
    assert len(events) == 500 and events[-1]["state"] == "done" and run.status().state == "done"


def test_eval_share_counts_from_the_base_models_evaluation_to_the_end():
    from bench.eval_cost import eval_share

    events = [{"type": "status", "t": 0.0, "state": "loading", "message": "loading model default"},
              {"type": "status", "t": 10.0, "state": "loading", "message": "evaluating the base model on the eval rows"},
              {"type": "eval", "t": 14.0, "step": 0, "seconds": 4.0, "prompts": 8, "values": {"eval_reward": 0.25},
               "best": {"metric": "eval_reward", "value": 0.25, "step": 0}},
              {"type": "metrics", "t": 20.0, "step": 1, "values": {"loss": 1.0}},
              {"type": "metrics", "t": 30.0, "step": 2, "values": {"loss": 0.5}},
              {"type": "eval", "t": 36.0, "step": 2, "seconds": 6.0, "prompts": 8, "values": {"eval_reward": 0.5},
               "best": {"metric": "eval_reward", "value": 0.5, "step": 2}},
              {"type": "status", "t": 50.0, "state": "done"}]
    share = eval_share(events)
    assert (share["wall_s"], share["eval_s"], share["evals"], share["steps"]) == (40.0, 10.0, 2, 2)
    assert share["share"] == 0.25 and share["per_eval_s"] == 5.0
    assert (share["metric"], share["first"], share["last"]) == ("eval_reward", 0.25, 0.5)
    assert share["every"] is None  # no eval_plan: a fixed eval.every
    planned = [*events[:4], {"type": "eval_plan", "t": 25.0, "step": 1, "every": 150}, *events[4:]]
    assert eval_share(planned)["every"] == 150
