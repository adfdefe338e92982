"""Rendering a row through the chat template without transformers, split into context and trained part."""

from __future__ import annotations

from engine.models.chat_template import render_example


def test_chatml_row_splits_at_the_answer(tiny_model_dir):
    row = {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
           "completion": [{"role": "assistant", "content": "<answer>4</answer>"}]}
    example = render_example(row, tiny_model_dir)
    assert example.context == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                               "<|im_start|>assistant\n")
    assert example.trained == "<answer>4</answer><|im_end|>\n"


def test_same_text_as_the_tokenizer_renders(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    example = render_example({"prompt": turns[:1], "completion": turns[1:]}, tiny_model_dir)
    assert example.context + example.trained == tokenizer.apply_chat_template(turns, tokenize=False)


def test_rows_without_a_template_or_chat_stay_text(tmp_path):
    assert render_example({"prompt": "Q: 2+2?", "completion": " 4"}, None).trained == " 4"
    assert render_example({"text": "once upon a time"}, tmp_path).trained == "once upon a time"
    preference = {"prompt": "Q", "chosen": "good", "rejected": "bad"}
    assert render_example(preference, None).trained == "good"
