"""The Ollama Modelfile: a Go template taken apart from the model's Jinja template, and its stop tokens."""

from __future__ import annotations

from engine.models.chat_template import render_chat
from engine.export.modelfile import modelfile, role_wrapping
from tests.fixtures.tiny_model import CHATML

# SmolLM2's shape: a default system prompt when the conversation brings none.
WITH_DEFAULT_SYSTEM = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' "
    "+ m['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
STRICT = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}{{ messages }}"


def test_chatml_becomes_a_go_template_that_renders_like_the_jinja_one():
    wrapping = role_wrapping(CHATML, {})
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+3?"},
                    {"role": "assistant", "content": "5"}, {"role": "user", "content": "4+4?"}]
    assert wrapping.render(conversation) == render_chat(CHATML, {}, conversation, True)
    assert wrapping.go_template() == (
        '{{ range .Messages }}{{ if eq .Role "system" }}<|im_start|>system\n{{ .Content }}<|im_end|>\n'
        '{{ else if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n'
        '{{ else if eq .Role "assistant" }}<|im_start|>assistant\n{{ .Content }}<|im_end|>\n'
        '{{ end }}{{ end }}<|im_start|>assistant\n')


def test_a_default_system_prompt_becomes_the_modelfiles_system():
    text = modelfile("m.gguf", WITH_DEFAULT_SYSTEM, {}, "<|im_end|>", ["<|im_start|>", "<|im_end|>"])
    assert 'SYSTEM """You are helpful."""' in text and 'PARAMETER stop "<|im_end|>"' in text


def test_llama3_stops_at_its_end_of_turn_token_as_well_as_eos():
    text = modelfile("m.gguf", LLAMA3, {"bos_token": "<|begin_of_text|>"}, "<|end_of_text|>",
                     ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
    assert 'PARAMETER stop "<|end_of_text|>"' in text and 'PARAMETER stop "<|eot_id|>"' in text
    assert "<|start_header_id|>user<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" in text


def test_a_template_that_cannot_be_taken_apart_is_left_to_ollama():
    text = modelfile("m.gguf", STRICT, {}, "</s>", ["</s>"])
    assert "TEMPLATE" not in text and "reads the GGUF's own template" in text and 'PARAMETER stop "</s>"' in text
