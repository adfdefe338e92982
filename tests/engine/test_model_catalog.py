"""The model catalog and `rft models`: a Hugging Face cache in its real layout, the folders runs used, the
built-in model, and the fit badge of each for a setup."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.contract.presets import load_config
from engine.contract.recent_models import record_model_folder, recent_model_folders, recent_models_path
from engine.models.catalog import list_models, thinking_kind
from engine.models.hub_cache import hub_cache_dir
from engine.models.resolve import model_problem
from engine.planning.memory_estimate import GIB
from engine.planning.model_fit import FITS, TIGHT, UNKNOWN, WONT_FIT, AvailableMemory, parameter_text, rate_all
from tests.engine.test_cli import _rft
from tests.fixtures.fake_hub_cache import fill_cache


@pytest.fixture
def hf_home(tmp_path, monkeypatch, tiny_model_dir):
    """A fresh HF_HOME holding the fake cache, and a fresh rft cache (no converted built-in model, no
    remembered folders), as a new user's machine after a few downloads."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "rft-cache"))
    monkeypatch.delenv("RFT_RECENT_MODELS")  # the list in this cache, not the suite's own
    fill_cache(tmp_path / "hf" / "hub", tiny_model_dir)
    return tmp_path / "hf"


def _by_name(entries):
    return {entry.name: entry for entry in entries}


def _rated_by_name(rated):
    return {r.entry.name: r for r in rated}


def test_the_cache_lists_each_model_with_what_its_files_say(hf_home, tiny_model_dir):
    entries = list_models()
    assert [e.name for e in entries] == ["default", "org/broken", "org/plain", "org/qwen-shaped", "org/tiny"]
    assert [e.source for e in entries] == ["built-in"] + ["cache"] * 4  # org/gguf-only has no config.json
    tiny, plain, qwen = (_by_name(entries)[n] for n in ("org/tiny", "org/plain", "org/qwen-shaped"))
    assert tiny.folder == hf_home / "hub" / "models--org--tiny" / "snapshots" / "0123abcd"
    assert tiny.architecture == "LlamaForCausalLM" and plain.architecture == "LlamaForCausalLM"
    assert qwen.architecture == "Qwen2ForCausalLM"
    assert (tiny.has_template, tiny.thinking) == (True, "switch")  # its template reads enable_thinking
    assert (plain.has_template, plain.thinking) == (False, "")
    assert (qwen.has_template, qwen.thinking) == (True, "always")  # <think> without a switch
    # The size on disk follows the snapshot's links to the blobs: the tiny model's weights are in it.
    weights = (tiny_model_dir / "model.safetensors").stat().st_size
    assert weights < tiny.disk_bytes < weights + 10**6


def test_parameters_are_counted_from_config_json_as_torch_counts_them(hf_home, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    rated = _rated_by_name(rate_all(list_models(), load_config("sft"), None))
    # The count torch reports for the real tiny model (tied embeddings counted once).
    torch_count = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny_model_dir).parameters())
    assert rated["org/tiny"].parameters == torch_count
    assert rated["default"].parameters == 134_515_008  # SmolLM2-135M, from its config before any conversion
    assert parameter_text(rated["default"].parameters) == "135M"
    assert parameter_text(rated["org/qwen-shaped"].parameters) == "494M"
    assert parameter_text(1_543_714_304) == "1.5B" and parameter_text(7 * 10**9) == "7B"


def test_a_broken_config_json_is_listed_with_a_note_not_raised(hf_home):
    broken = _by_name(list_models())["org/broken"]
    assert not broken.usable and broken.architecture == "?"
    assert "config.json is not valid JSON" in broken.note and "download may be broken" in broken.note
    rated = _rated_by_name(rate_all([broken], load_config("sft"), AvailableMemory(GIB, "cpu")))
    assert rated["org/broken"].badge == UNKNOWN and rated["org/broken"].parameters is None


def test_the_fit_badge_follows_the_memory_there_is(hf_home):
    # The available memory is passed in: the machine's own (its RAM, a GPU's free memory) changes from run to
    # run, and the badge must be seen to change with it.
    config = load_config("sft")
    entries = [e for e in list_models() if e.name in {"org/tiny", "org/qwen-shaped"}]
    needed = {r.entry.name: r.needed_bytes for r in rate_all(entries, config, AvailableMemory(64 * GIB, "cpu"))}
    assert needed["org/tiny"] < needed["org/qwen-shaped"]

    def badges(available: float, device: str = "cpu") -> dict[str, str]:
        return {r.entry.name: r.badge for r in rate_all(entries, config, AvailableMemory(available, device))}

    assert badges(64 * GIB) == {"org/tiny": FITS, "org/qwen-shaped": FITS}
    assert badges(needed["org/qwen-shaped"] / 0.9) == {"org/tiny": FITS, "org/qwen-shaped": TIGHT}
    assert badges(needed["org/qwen-shaped"] / 2) == {"org/tiny": FITS, "org/qwen-shaped": WONT_FIT}
    assert badges(1e5) == {"org/tiny": WONT_FIT, "org/qwen-shaped": WONT_FIT}
    # A setup asking for more (longer rows, a bigger batch) needs more on the same model.
    bigger = load_config("sft", ["training.batch_size=32", "model.max_seq_length=2048"])
    more = _rated_by_name(rate_all(entries, bigger, AvailableMemory(64 * GIB, "cpu")))
    assert more["org/qwen-shaped"].needed_bytes > needed["org/qwen-shaped"]


def test_the_thinking_kind_of_a_template():
    assert thinking_kind(None) == "" and thinking_kind("{{ messages }}") == "no"
    assert thinking_kind("{% if enable_thinking %}<think>{% endif %}") == "switch"
    assert thinking_kind("{{ '<think>\\n' }}") == "always"


def test_local_folders_used_before_are_listed_until_they_go(hf_home, tmp_path, tiny_model_dir):
    mine = shutil.copytree(tiny_model_dir, tmp_path / "my model")
    record_model_folder(str(mine))
    record_model_folder("org/tiny")  # a hub id: the cache lists it already
    record_model_folder("default")
    (tmp_path / "not-a-model").mkdir()
    record_model_folder(str(tmp_path / "not-a-model"))  # no config.json: a run on it fails
    assert recent_model_folders() == [mine]
    local = _by_name(list_models())[str(mine)]
    assert local.source == "local" and local.architecture == "LlamaForCausalLM" and local.has_template
    record_model_folder(str(tiny_model_dir))
    assert recent_model_folders() == [tiny_model_dir.resolve(), mine]  # newest first
    shutil.rmtree(mine)
    assert str(mine) not in _by_name(list_models())
    assert recent_model_folders() == [tiny_model_dir.resolve()]


def test_a_list_that_cannot_be_read_is_an_empty_one(hf_home):
    recent_models_path().parent.mkdir(parents=True, exist_ok=True)
    for text in ["{not json", json.dumps(["a", "list"]), json.dumps({"folders": [3, None]})]:
        recent_models_path().write_text(text)
        assert recent_model_folders() == []
        assert [e.source for e in list_models()] == ["built-in"] + ["cache"] * 4


def test_hf_hub_cache_wins_over_hf_home(hf_home, tmp_path, monkeypatch):
    assert hub_cache_dir() == hf_home / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub_cache_dir() == tmp_path / "elsewhere"
    assert [e.name for e in list_models()] == ["default"]


def test_offline_a_model_not_in_the_cache_is_refused_naming_the_cached_ones(hf_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    problem = model_problem("org/missing")
    assert "not in the local Hugging Face cache" in problem
    assert "In the cache: org/broken, org/plain, org/qwen-shaped, org/tiny" in problem
    monkeypatch.setenv("HF_HOME", str(hf_home.parent / "empty"))
    assert f"The cache ({hf_home.parent / 'empty' / 'hub'}) holds no models" in model_problem("org/missing")


def test_rft_models_lists_the_cache_with_badges(hf_home):
    result = _rft("models", "--set", "training.batch_size=2", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert rows["org/tiny"].split()[1:3] == ["cache", "LlamaForCausalLM"] and " switch " in rows["org/tiny"]
    assert " 135M " in rows["default"] and "built-in" in rows["default"]
    assert " 494M " in rows["org/qwen-shaped"] and "Qwen2ForCausalLM" in rows["org/qwen-shaped"]
    assert all(any(badge in rows[n] for badge in ("fits", "tight", "won't fit")) for n in ("org/tiny", "default"))
    assert "✗ org/broken: config.json is not valid JSON" in result.stdout
    assert "fit: preset sft (SFT, batch 2 × 256-token rows)" in result.stdout
    assert f"Hugging Face cache: {hf_home / 'hub'} (4 models)" in result.stdout
    listed = json.loads(_rft("models", "--json", timeout=60).stdout)
    assert {m["name"]: m["parameters"] for m in listed}["default"] == 134_515_008


def test_rft_models_with_an_empty_cache_still_offers_the_built_in_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "nothing"))
    monkeypatch.setenv("RFT_CACHE_DIR", str(tmp_path / "rft-cache"))
    monkeypatch.delenv("RFT_RECENT_MODELS")  # the list in this cache, not the suite's own
    result = _rft("models", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "default" in result.stdout and "LlamaForCausalLM" in result.stdout
    assert f"Hugging Face cache: {tmp_path / 'nothing' / 'hub'} holds no models" in result.stdout
    bad = _rft("models", "--set", "training.batch_size=0", timeout=60)
    assert bad.returncode == 2 and "training.batch_size" in bad.stdout and "Traceback" not in bad.stdout
