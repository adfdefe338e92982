"""User presets: saved atomically, listed beside the shipped ones, never overwritten silently."""

from __future__ import annotations

import pytest

from engine.contract.config import config_from_dict
from engine.contract.presets import delete_preset, list_presets, load_config, save_preset


@pytest.fixture(autouse=True)
def presets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RFT_PRESETS_DIR", str(tmp_path / "presets"))
    return tmp_path / "presets"


def test_save_list_load_delete(presets_dir):
    config = config_from_dict({"training": {"max_steps": 12}})
    path = save_preset(config, "my-run")
    assert path == presets_dir / "my-run.toml"
    listed = {p.name: p.shipped for p in list_presets()}
    assert listed["my-run"] is False and listed["sft"] is True
    assert load_config("my-run").training.max_steps == 12
    delete_preset("my-run")
    assert "my-run" not in {p.name for p in list_presets()}


def test_saving_over_an_existing_preset_needs_consent(presets_dir):
    save_preset(config_from_dict({"training": {"max_steps": 1}}), "mine")
    with pytest.raises(FileExistsError):
        save_preset(config_from_dict({"training": {"max_steps": 2}}), "mine")
    assert load_config("mine").training.max_steps == 1
    save_preset(config_from_dict({"training": {"max_steps": 2}}), "mine", overwrite=True)
    assert load_config("mine").training.max_steps == 2


@pytest.mark.parametrize("name, words", [("sft", "shipped preset"), ("../up", "letters, digits"), ("", "letters")])
def test_bad_names_are_refused(name, words):
    with pytest.raises(ValueError, match=words):
        save_preset(config_from_dict({}), name)


def test_shipped_presets_cannot_be_deleted():
    with pytest.raises(PermissionError, match="shipped"):
        delete_preset("sft")


def test_shipped_presets_come_first_in_a_newcomers_order(presets_dir):
    save_preset(config_from_dict({}), "aaa-mine")
    names = [p.name for p in list_presets()]
    assert names[0] == "sft"  # the preset Setup opens on heads the list
    assert names.index("rm") < names.index("rm_ppo") and names.index("grpo") < names.index("ppo")
    assert names[-1] == "aaa-mine"  # the user's own come after every shipped one
