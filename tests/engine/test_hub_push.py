"""``rft export … --push-to-hub``: the real CLI, export process and ``huggingface_hub`` client, pushing to a
stand-in of the Hub on 127.0.0.1 (``tests/fixtures/hub_stand_in.py``), because the real Hub is unreachable
here. The stand-in speaks the Hub's create-repo, preupload, commit and git-LFS endpoints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.contract.launch import start_run
from engine.contract.runs import RunDir
from tests.conftest import tiny_config, wait_final
from tests.fixtures.hub_stand_in import HubStandIn

TOKEN = "hf_standInToken1234567890"


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory) -> RunDir:
    config = tiny_config(tiny_model_dir, tmp_path_factory.mktemp("runs"), eval={"every": 0},
                         training={"max_steps": 2, "sample_every": 0})
    run, _ = start_run(config)
    assert wait_final(run).state == "done"
    return run


def _rft(hub: HubStandIn, home: Path, *args: str, token: str = TOKEN, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "HF_TOKEN"}}
    # HF_HOME: no login cache of this machine's; HF_HUB_DISABLE_XET: the stand-in speaks LFS, not Xet.
    environment.update(HF_ENDPOINT=hub.endpoint, HF_TOKEN=token, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", **env)
    return subprocess.run([sys.executable, "-m", "rft_tui.cli", "export", *args], capture_output=True, text=True,
                          timeout=300, env=environment, stdin=subprocess.DEVNULL)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_push_uploads_the_checked_export_and_a_second_push_updates_the_same_repo(run, tmp_path):
    with HubStandIn(TOKEN) as hub:
        first = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny-lora", "--private")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "pushed" in first.stdout and "me/tiny-lora" in first.stdout and "(private)" in first.stdout
        repo = hub.repos["me/tiny-lora"]
        export = run.path / "exports" / "adapter"
        assert repo.private and set(repo.files) == set(_digests(export))
        assert all(repo.files[name] == (export / name).read_bytes() for name in repo.files)
        assert any(r.path.endswith(".git/info/lfs/objects/batch") for r in hub.requests)  # the weights went by LFS
        run_files = _digests(run.path)

        second = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny-lora")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "pushing the export made before" in second.stdout
        assert list(hub.repos) == ["me/tiny-lora"] and len(repo.commits) == 1  # nothing changed: no empty commit
        (export / "notes.txt").write_text("tried on my prompts\n")
        third = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny-lora")
        assert third.returncode == 0 and len(repo.commits) == 2 and repo.files["notes.txt"] == b"tried on my prompts\n"
        (export / "notes.txt").unlink()

    # The token went in the Authorization header of API requests, and nowhere else: no URL, no body, not to
    # the storage URL the weights were put to, and into no file of the run.
    for request in hub.requests:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        assert TOKEN not in request.path and TOKEN.encode() not in request.body and TOKEN not in str(headers)
        if request.path.startswith("/lfs-upload/"):  # the storage URL the LFS batch answer gave
            assert "authorization" not in request.headers
        elif request.path != "/api/agent-harnesses":  # the client's own daily fetch of a registry it names itself by
            assert request.headers.get("authorization") == f"Bearer {TOKEN}", request.path
    assert _digests(run.path) == run_files
    assert not any(TOKEN.encode() in p.read_bytes() for p in run.path.rglob("*") if p.is_file())


def test_a_refused_token_or_an_offline_setting_is_said_in_words_and_changes_nothing(run, tmp_path):
    with HubStandIn(TOKEN) as hub:
        if not (run.path / "exports" / "adapter").is_dir():
            assert _rft(hub, tmp_path, str(run.path)).returncode == 0  # the export to push, made without pushing
        before = _digests(run.path)
        wrong = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny-lora", token="hf_wrong")
        offline = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny-lora", HF_HUB_OFFLINE="1")
        bad_name = _rft(hub, tmp_path, str(run.path), "--push-to-hub", "me/tiny lora")
    assert wrong.returncode == 1 and "refused the token (401 Unauthorized)" in wrong.stdout, wrong.stdout
    assert "HF_TOKEN" in wrong.stdout and "the export is kept" in wrong.stdout
    assert offline.returncode == 1 and "HF_HUB_OFFLINE is set" in offline.stdout, offline.stdout
    assert bad_name.returncode == 2 and "may hold only letters" in bad_name.stdout, bad_name.stdout
    for result in (wrong, offline, bad_name):
        assert "Traceback" not in result.stdout + result.stderr
    assert hub.repos == {} and _digests(run.path) == before
