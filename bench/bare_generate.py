"""Bare ``model.generate`` on a GRPO-sized batch: the peer of GRPO's generation in ``bench.grpo_generation``.

    python -m bench.bare_generate SETTINGS.json OUT.jsonl

Loads the model with a fresh LoRA adapter (PEFT, the same settings as the
run; or the adapter the run starts from), renders the prompts with the chat template, and samples
``num_generations`` answers per prompt of at most ``max_new_tokens`` tokens,
``calls`` times, as TRL's GRPO does each step (left padding, sampling at
``temperature``, stopping at the end-of-turn token). With ``merged`` the
adapter is merged into the weights first, which is what generation would
cost without LoRA's extra matrix products. Each call's line: seconds,
sequences, decode steps (the longest answer) and answer tokens (up to and
including the end-of-turn token).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = open(argv[1], "a", encoding="utf-8")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    set_seed(settings["seed"])
    tokenizer = AutoTokenizer.from_pretrained(settings["model"])
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(settings["model"], dtype=torch.float32)
    if settings.get("adapter"):  # the run continues an earlier adapter
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, settings["adapter"])
    else:
        model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=settings["lora_r"],
                                                 lora_alpha=settings["lora_alpha"], target_modules="all-linear"))
    if settings["merged"]:
        model = model.merge_and_unload()
    model.eval()
    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in settings["prompts"]]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    eos = tokenizer.eos_token_id
    for call in range(settings["calls"]):
        started = time.perf_counter()
        with torch.no_grad():
            output = model.generate(**encoded, do_sample=True, temperature=settings["temperature"], top_k=0,
                                    top_p=1.0, max_new_tokens=settings["max_new_tokens"],
                                    num_return_sequences=settings["num_generations"],
                                    pad_token_id=tokenizer.pad_token_id, eos_token_id=eos)
        seconds = time.perf_counter() - started
        answers = output[:, encoded["input_ids"].shape[1]:]
        tokens = 0
        for row in answers.tolist():
            tokens += row.index(eos) + 1 if eos in row else len(row)
        out.write(json.dumps({"call": call + 1, "seconds": seconds, "sequences": answers.shape[0],
                              "decode_steps": answers.shape[1], "tokens": tokens}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
