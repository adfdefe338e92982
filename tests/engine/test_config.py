"""The config schema: presets load, bad ones are refused naming the field."""

from __future__ import annotations

import pytest

from engine.contract.config import (
    PRESETS_DIR,
    ConfigError,
    RunConfig,
    apply_overrides,
    config_from_dict,
    parse_toml,
    save_config,
)
from engine.contract.presets import load_config


def test_every_shipped_preset_loads():
    presets = sorted(PRESETS_DIR.glob("*.toml"))
    assert presets, "no shipped presets"
    for path in presets:
        config = load_config(path)
        assert config.method_name == path.stem.split("-")[0]


def test_unknown_key_names_the_path():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"training": {"max_step": 10}})
    assert info.value.problems[0][0] == "training.max_step"
    assert "unknown key" in str(info.value)


def test_unknown_top_level_section():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"trainng": {}})
    assert info.value.problems[0][0] == "trainng"


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"training": {"learning_rate": -1}}, "training.learning_rate", "greater than 0"),
        ({"training": {"max_steps": 0}}, "training.max_steps", "greater than or equal to 1"),
        ({"lora": {"dropout": 1.5}}, "lora.dropout", "less than 1"),
        ({"lora": {"r": "big"}}, "lora.r", "valid integer"),
        ({"model": {"backend": "tensorflow"}}, "model.backend", "'auto', 'unsloth' or 'transformers'"),
        ({"output": {"run_name": "../escape"}}, "output.run_name", "plain folder name"),
    ],
)
def test_out_of_range_and_wrong_type_values_are_refused(data, path, words):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    paths = [p for p, _ in info.value.problems]
    assert path in paths
    assert words in str(info.value)


def test_bad_value_message_shows_what_was_given():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"training": {"batch_size": -3}})
    assert "(got -3)" in str(info.value)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"method": {"name": "rlhf-magic"}})
    assert info.value.problems[0][0] == "method.name"
    assert "sft" in str(info.value)


def test_error_names_the_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[training]\nmax_steps = -5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "training.max_steps" in str(info.value)


def test_invalid_toml_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_toml("[training\nmax_steps = 3")


def test_overrides_parse_toml_values_and_fall_back_to_strings():
    data: dict = {}
    apply_overrides(data, ["training.max_steps=7", "training.learning_rate=2e-5", "model.name=Qwen/Qwen2.5-0.5B",
                           "lora.target_modules=[\"q_proj\", \"v_proj\"]", "model.load_in_4bit=false"])
    config = config_from_dict(data)
    assert config.training.max_steps == 7
    assert config.training.learning_rate == pytest.approx(2e-5)
    assert config.model.name == "Qwen/Qwen2.5-0.5B"
    assert config.lora.target_modules == ["q_proj", "v_proj"]
    assert config.model.load_in_4bit is False


def test_override_with_unknown_key_is_refused_by_name():
    data: dict = {}
    apply_overrides(data, ["training.warmup=3"])
    with pytest.raises(ConfigError, match="training.warmup"):
        config_from_dict(data)


def test_override_without_equals_sign_is_refused():
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides({}, ["training.max_steps"])


def test_toml_round_trip_and_no_silent_overwrite(tmp_path):
    config = config_from_dict({"training": {"max_steps": 11}, "dataset": {"system_prompt": "Be brief."}})
    path = save_config(config, tmp_path / "preset.toml")
    assert load_config(path) == config
    with pytest.raises(FileExistsError):
        save_config(RunConfig(), path)
    assert load_config(path).training.max_steps == 11


def test_unknown_reward_name_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"method": {"name": "grpo"}, "rewards": [{"name": "format"}, {"name": "corectness"}]})
    assert info.value.problems[0][0] == "rewards.1.name"
    assert "correctness" in str(info.value)


def test_method_parameters_belong_to_their_method():
    config = config_from_dict({"method": {"name": "ppo", "kl_coef": 0.1, "lam": 0.9}})
    assert (config.method.kl_coef, config.method.lam) == (0.1, 0.9)
    with pytest.raises(ConfigError) as info:
        config_from_dict({"method": {"name": "dpo", "kl_coef": 0.1}})
    assert info.value.problems[0][0] == "method.kl_coef"


def test_reward_params_are_checked_when_the_preset_loads():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"rewards": [{"name": "regex"}]})
    assert info.value.problems[0][0] == "rewards.0" and "needs params (pattern, flags)" in str(info.value)
    with pytest.raises(ConfigError, match="has no parameter 'colum'"):
        config_from_dict({"rewards": [{"name": "correctness", "params": {"colum": "answer"}}]})
    config = config_from_dict({"rewards": [{"name": "regex", "params": {"pattern": "<answer>"}}]})
    assert config.rewards[0].params == {"pattern": "<answer>"}
