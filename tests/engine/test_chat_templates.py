"""Chat templates: named ones, the end-of-turn token each implies, thinking, system roles, and the think mask.

The templates are rendered both by rft's own renderer (which the Setup screen uses, without torch) and by
the real tokenizer of a tiny model of each family, and the two must agree: what the dataset check shows is
what the trainer sees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.contract.config import ModelConfig, config_from_dict
from engine.models.chat_template import model_chat_format, render_example
from engine.models.templates import NAMED_TEMPLATES, TemplateError, chat_format, render
from tests.fixtures.tiny_model import build_tiny_model

CHAT = [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "What is 2 plus 2?"}]
ANSWER = [{"role": "assistant", "content": "<think>\n2 + 2 = 4.\n</think>\n\n4"}]
# The token that ends an answer, and the model's EOS it differs from (a document's end).
END_OF_TURN = {"chatml": ("<|im_end|>", "<|im_end|>"), "llama3": ("<|eot_id|>", "<|end_of_text|>"),
               "gemma": ("<end_of_turn>", "<eos>"), "qwen3": ("<|im_end|>", "<|endoftext|>")}


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build_tiny_model(root / name, family=name) for name in (*END_OF_TURN, "base")}


@pytest.mark.parametrize("family", list(END_OF_TURN))
def test_each_family_ends_answers_with_its_own_token_and_the_tokenizer_agrees(family_dirs, family):
    from engine.models.lora import load_tokenizer

    folder = family_dirs[family]
    chat = model_chat_format(folder)
    assert chat.end_of_turn == END_OF_TURN[family][0]
    tokenizer = load_tokenizer(folder)
    assert tokenizer.eos_token == END_OF_TURN[family][1]  # before the setup is applied
    configured = load_tokenizer(folder, ModelConfig(name=str(folder)))
    assert configured.eos_token == END_OF_TURN[family][0]
    assert configured.pad_token not in (None, configured.eos_token) or family == "chatml"
    # rft's renderer (the dataset check) and the tokenizer's (the trainer) write the same text.
    example = render_example({"prompt": CHAT, "completion": ANSWER}, folder, chat)
    prompt = CHAT if chat.system_role else [{"role": "user", "content": "Answer with a number.\n\nWhat is 2 plus 2?"}]
    assert example.context + example.trained == configured.apply_chat_template(prompt + ANSWER, tokenize=False)
    assert example.trained.rstrip().endswith(END_OF_TURN[family][0])


def test_gemma_without_a_system_role_folds_the_system_prompt_into_the_first_user_turn(family_dirs):
    chat = model_chat_format(family_dirs["gemma"])
    assert not chat.system_role
    with pytest.raises(TemplateError, match="System role not supported"):
        render(chat.template, CHAT, True)  # the template itself refuses, as Gemma 2's does
    example = render_example({"prompt": CHAT, "completion": ANSWER}, family_dirs["gemma"], chat)
    assert example.context.startswith("<bos><start_of_turn>user\nAnswer with a number.\n\nWhat is 2 plus 2?")


def test_a_base_model_gets_chatml_and_its_end_of_turn(family_dirs):
    folder = family_dirs["base"]
    assert model_chat_format(folder).template is None
    chat = model_chat_format(folder, "chatml")
    assert chat.end_of_turn == "<|im_end|>" and chat.origin == "'chatml'"
    example = render_example({"prompt": CHAT[1:], "completion": ANSWER}, folder, chat)
    assert example.context == "<|im_start|>user\nWhat is 2 plus 2?<|im_end|>\n<|im_start|>assistant\n"


def test_enable_thinking_is_baked_into_the_template_and_changes_the_prompt(family_dirs):
    folder = family_dirs["qwen3"]
    thinking, direct = (model_chat_format(folder, "auto", flag) for flag in (True, False))
    assert thinking.thinking and direct.thinking
    assert render(direct.template, CHAT, True).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert render(thinking.template, CHAT, True).endswith("<|im_start|>assistant\n")
    # Saved and read back by transformers, the tokenizer renders the same without being told.
    from engine.models.lora import load_tokenizer

    tokenizer = load_tokenizer(folder, ModelConfig(name=str(folder), enable_thinking=False))
    assert tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False).endswith("</think>\n\n")


def test_the_think_part_is_context_when_it_is_not_trained(family_dirs):
    folder = family_dirs["qwen3"]
    chat = model_chat_format(folder)
    trained = render_example({"prompt": CHAT, "completion": ANSWER}, folder, chat)
    masked = render_example({"prompt": CHAT, "completion": ANSWER}, folder, chat, train_on_thinking=False)
    assert trained.trained.startswith("<think>\n2 + 2 = 4.\n</think>\n\n4")
    assert masked.trained == "4<|im_end|>\n" and masked.context.endswith("<think>\n2 + 2 = 4.\n</think>\n\n")
    assert trained.context + trained.trained == masked.context + masked.trained


def test_the_worker_masks_exactly_the_think_tokens_the_check_shows(family_dirs):
    """What TRL will train: the rows rft hands it, tokenised the way TRL does (prompt, then prompt + answer)."""
    from engine.models.chat_setup import thinking_as_context
    from engine.models.lora import load_tokenizer

    for family in ("qwen3", "llama3"):
        folder = family_dirs[family]
        tokenizer = load_tokenizer(folder, ModelConfig(name=str(folder)))
        rows = [{"prompt": list(CHAT), "completion": list(ANSWER)}, {"prompt": list(CHAT[1:]),
                                                                     "completion": [{"role": "assistant", "content": "4"}]}]
        assert thinking_as_context(rows, tokenizer) == 1
        prompt_ids = tokenizer(rows[0]["prompt"]).input_ids
        full_ids = tokenizer(rows[0]["prompt"] + rows[0]["completion"]).input_ids
        assert full_ids[: len(prompt_ids)] == prompt_ids
        assert tokenizer.decode(full_ids[len(prompt_ids):]) == "4" + END_OF_TURN[family][0]
        assert full_ids.count(tokenizer.bos_token_id) <= 1 if tokenizer.bos_token_id is not None else True
        assert "</think>" in rows[0]["prompt"] and isinstance(rows[1]["prompt"], str)


def test_reasoning_in_its_own_column_becomes_a_think_block(tmp_path):
    import json

    from engine.data import prepare
    from engine.methods import get_method

    path = tmp_path / "thinking.jsonl"
    path.write_text(json.dumps({"prompt": "2+2?", "reasoning": "2 + 2 = 4.", "completion": "4"}) + "\n")
    config = config_from_dict({"dataset": {"source": str(path)}})
    rows = prepare(config.dataset, get_method("sft").formats).rows
    assert rows[0]["completion"] == [{"role": "assistant", "content": "<think>\n2 + 2 = 4.\n</think>\n\n4"}]
    assert "reasoning" not in prepare(config.dataset, get_method("sft").formats).extra_columns


@pytest.mark.parametrize("name", list(NAMED_TEMPLATES))
def test_every_named_template_renders_a_chat_and_ends_turns_with_one_of_its_tokens(name):
    chat = chat_format(name, None, None, [], "<s>", "</s>")
    assert chat.end_of_turn in NAMED_TEMPLATES[name].tokens
    text = render(chat.template, CHAT + ANSWER, False, "<s>", "</s>")
    assert "What is 2 plus 2?" in text and "Answer with a number." in text and "4" in text


@pytest.mark.parametrize("train_on_thinking", [False, True])
def test_a_thinking_dataset_trains_on_the_qwen3_model_with_the_think_part_masked_or_trained(
        family_dirs, tmp_path, train_on_thinking):
    """The real worker, and the Setup dataset check for the same config: both split the row the same way."""
    import json

    from engine.contract.launch import start_run
    from rft_tui.widgets.dataset_check import run_check
    from tests.conftest import tiny_config, wait_final

    path = tmp_path / "thinking.jsonl"
    rows = [{"prompt": f"What is {a} plus {b}?", "reasoning": f"{a} + {b} = {a + b}.", "completion": str(a + b)}
            for a, b in [(1, 2), (3, 4), (2, 2), (5, 1)]]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tiny_config(family_dirs["qwen3"], tmp_path / "runs", dataset={"source": str(path)},
                         training={"max_steps": 3, "batch_size": 2, "sample_every": 0,
                                   "train_on_thinking": train_on_thinking}, eval={"size": 0})
    check = run_check(config)
    shown = check.example.plain
    assert "<think>\n1 + 2 = 3.\n</think>" in shown
    trained = "".join(span_text for span_text, style in _styled(check.example) if "green" in style)
    assert trained.startswith("<think>") == train_on_thinking and trained.strip().endswith("3<|im_end|>")
    assert ("the <think> part is context" in check.summary.plain) != train_on_thinking
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    from engine.contract.protocol import read_events

    log = " ".join(e.get("message", "") for e in read_events(run.events_path) if e["type"] == "log")
    assert ("the <think> part of 4 answers is context" in log) != train_on_thinking


def _styled(text) -> list[tuple[str, str]]:
    return [(text.plain[span.start:span.end], str(span.style)) for span in text.spans]


def test_a_template_using_what_transformers_offers_renders_the_same_here(family_dirs):
    """Real templates use {% generation %} blocks, tojson, strftime_now and loop controls (Llama 3.1's
    writes today's date): the Setup check must read them as the tokenizer does, not refuse them."""
    from engine.models.lora import load_tokenizer

    template = ("{%- set ns = namespace(n=0) %}{%- for m in messages %}{%- if m['role'] == 'assistant' %}"
                "{% generation %}{{ '<|im_start|>assistant\\n' + m['content'] + '<|im_end|>\\n' }}{% endgeneration %}"
                "{%- else %}{%- set ns.n = ns.n + 1 %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] | tojson "
                "+ ' ' + strftime_now('%Y') + '<|im_end|>\\n' }}{%- endif %}{%- if loop.index > 9 %}{% break %}"
                "{% endif %}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}")
    path = family_dirs["base"].parent / "own.jinja"
    path.write_text(template)
    chat = model_chat_format(family_dirs["base"], str(path))
    assert chat.end_of_turn == "<|im_end|>" and chat.origin == f"the file {path}"
    tokenizer = load_tokenizer(family_dirs["base"], ModelConfig(name=str(family_dirs["base"]),
                                                                chat_template=str(path)))
    messages = [{"role": "user", "content": "Zoë?"}, *ANSWER]
    assert render(chat.template, messages, False) == tokenizer.apply_chat_template(messages, tokenize=False)


def test_a_run_on_a_jinja_file_answers_after_the_file_has_gone(family_dirs, tmp_path):
    """The adapter keeps the template it trained with: the playground (and exports, and rft eval) read it
    from there, not from the path in the run's config."""
    from engine.contract.launch import start_run
    from engine.generation.playground import Playground
    from tests.conftest import tiny_config, wait_final

    path = tmp_path / "mine.jinja"
    path.write_text(NAMED_TEMPLATES["chatml"].jinja.replace("assistant\\n", "assistant (rft)\\n"))
    config = tiny_config(family_dirs["base"], tmp_path / "runs",
                         model={"name": str(family_dirs["base"]), "chat_template": str(path)},
                         training={"max_steps": 2, "sample_every": 0}, eval={"size": 0})
    run, _ = start_run(config)
    assert wait_final(run, timeout=300).state == "done"
    template = path.read_text()
    path.unlink()
    playground = Playground(run)
    assert playground.tokenizer.chat_template == template and playground.tokenizer.eos_token == "<|im_end|>"
    prompt, _ = playground._prompt({"prompt": "What is 2 plus 3?"})
    assert playground.answer("tuned", prompt, {"max_new_tokens": 4})["tokens"] > 0
