"""A library's message inside one of rft's sentences reads as one text: no "again.. Check".

The Hub cannot be reached in tests, so its two calls are replaced by ones that fail the way they do
offline (huggingface_hub ends its message with a full stop).
"""

from __future__ import annotations

import pytest

from engine.contract.wording import clause

HUB_MESSAGE = ("An error happened while trying to locate the files on the Hub. "
               "Please check your connection and try again.")


@pytest.mark.parametrize("message, expected", [("try again.", "try again"), ("try again. \n", "try again"),
                                               ("no stop", "no stop"), ("", "")])
def test_clause_drops_the_closing_stop(message, expected):
    assert clause(message) == expected


def test_a_failed_model_download_reads_as_one_sentence(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from engine.models.resolve import ModelError, resolve_model

    def snapshot_download(repo_id, revision=None, local_files_only=False):
        if local_files_only:
            raise LocalEntryNotFoundError("not in the cache")
        raise OSError(HUB_MESSAGE)  # what a dropped connection raises

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    with pytest.raises(ModelError) as caught:
        resolve_model("someone/no-such-model")
    message = str(caught.value)
    assert "try again. Check the id" in message and ".." not in message


def test_a_failed_dataset_download_reads_as_one_sentence(monkeypatch):
    import datasets

    from engine.contract.config import DatasetConfig
    from engine.data import DatasetError, load_rows

    def load_dataset(*args, **kwargs):
        raise ConnectionError(HUB_MESSAGE)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(DatasetError) as caught:
        load_rows(DatasetConfig(source="someone/no-such-set"))
    message = str(caught.value)
    assert "try again. Use a local file" in message and ".." not in message
