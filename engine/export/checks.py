"""Read an export back the way its user would and compare it with the run's own result in memory (torch).

Greedy answers to the run's probe prompts are the yardstick: the run's adapter
reloaded by PEFT and the merged model reloaded by transformers must give the
very same tokens as the adapter in memory; a GGUF is read by a GGUF reader
(tensors, vocabulary, end-of-turn id, chat template) and its weights, loaded
back through transformers, must answer sanely and stop at the end-of-turn
token when the adapter does (identically, for f16).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

# Two tokens whose logits differ by less than this are a tie that 16-bit weights may break either way.
TIE_LOGITS = 0.05


@dataclass
class Check:
    """One verdict about an export, in words."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def greedy_answers(model: Any, tokenizer: Any, prompts: list[Any], max_new_tokens: int) -> list[list[int]]:
    """Each prompt answered alone (no padding), greedily, up to and including the end-of-turn token."""
    import torch

    from engine.models.chat_setup import prompt_token_ids

    device = next(model.parameters()).device
    answers = []
    with torch.no_grad():
        for ids in prompt_token_ids(tokenizer, prompts):
            encoded = {"input_ids": torch.tensor([ids], device=device)}
            encoded["attention_mask"] = torch.ones_like(encoded["input_ids"])
            output = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False,
                                    eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
            answers.append(output[0, encoded["input_ids"].shape[1]:].tolist())
    return answers


def _stopped(tokens: list[int], eos: int) -> bool:
    return bool(tokens) and tokens[-1] == eos


def choice_margin(model: Any, tokenizer: Any, prompt: Any, prefix: list[int], a: int, b: int) -> float:
    """How far apart ``model`` scores tokens ``a`` and ``b`` after ``prompt`` + ``prefix`` (in logits)."""
    import torch

    from engine.models.chat_setup import prompt_token_ids

    device = next(model.parameters()).device
    ids = prompt_token_ids(tokenizer, [prompt])[0] + prefix
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0, -1].float()
    return abs(float(logits[a] - logits[b]))


def same_answers(name: str, got: list[list[int]], want: list[list[int]], tokenizer: Any,
                 margin: Callable[[int, list[int], int, int], float] | None = None) -> Check:
    """Identical greedy tokens; a first difference where the adapter itself was undecided between the
    two tokens (``margin`` below ``TIE_LOGITS``: 16-bit rounding can tip such a tie) is reported, not failed."""
    ties = []
    for i, (a, b) in enumerate(zip(got, want)):
        if a == b:
            continue
        at = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        gap = margin(i, b[:at], b[at], a[at]) if margin and at < min(len(a), len(b)) else None
        if gap is None or gap > TIE_LOGITS:
            return Check(name, False, f"probe {i + 1}: answers differ from token {at}"
                                      + (f" (the run's model preferred its token by {gap:.3f} logits)" if gap else "")
                                      + f": {tokenizer.decode(a)!r} vs the run's {tokenizer.decode(b)!r}")
        ties.append(f"probe {i + 1} from token {at}, a tie within {gap:.4f} logits")
    stops = sum(_stopped(a, tokenizer.eos_token_id) for a in got)
    if ties:
        return Check(name, True, f"{len(got)} probe answers identical to the run's up to near-ties the "
                                 f"rounding tipped ({'; '.join(ties)}); {stops} stop at the end-of-turn token")
    return Check(name, True, f"{len(got)} probe answers token for token identical to the run's "
                             f"({sum(map(len, got))} tokens; {stops} stop at the end-of-turn token)")


def sane_answers(name: str, got: list[list[int]], want: list[list[int]], tokenizer: Any) -> Check:
    """Non-empty, and stopping at the end-of-turn token wherever the run's answer does."""
    eos = tokenizer.eos_token_id
    for i, (a, b) in enumerate(zip(got, want)):
        if not a:
            return Check(name, False, f"probe {i + 1}: empty answer")
        if _stopped(b, eos) and not _stopped(a, eos):
            return Check(name, False, f"probe {i + 1}: never reaches the end-of-turn token "
                                      f"{tokenizer.eos_token!r}: {tokenizer.decode(a)[:200]!r}")
    agree = [next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b))) for a, b in zip(got, want)]
    return Check(name, True, f"{len(got)} answers end like the run's; the first "
                             f"{min(agree)}–{max(agree)} tokens agree with it")


def _string(field: Any) -> str:
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def read_gguf(path: Path, tokenizer: Any) -> list[Check]:
    """The GGUF's tensors, vocabulary, end-of-turn id and chat template, against the tokenizer's."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    fields = reader.fields
    checks = []
    arch = _string(fields["general.architecture"]) if "general.architecture" in fields else None
    names = {t.name for t in reader.tensors}
    has_core = {"token_embd.weight", "output_norm.weight"} <= names and any(n.startswith("blk.0.") for n in names)
    types = sorted({t.tensor_type.name for t in reader.tensors})
    checks.append(Check("gguf tensors", bool(arch) and has_core,
                        f"{len(reader.tensors)} tensors ({', '.join(types)}), architecture {arch}"))
    tokens_field = fields.get("tokenizer.ggml.tokens")
    if tokens_field is None:
        checks.append(Check("gguf vocabulary", False, "no tokenizer.ggml.tokens"))
    else:
        tokens = [bytes(tokens_field.parts[i]).decode("utf-8", errors="replace") for i in tokens_field.data]
        ours = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        wrong = [i for i, t in enumerate(ours) if i >= len(tokens) or tokens[i] != t]
        kind = _string(fields["tokenizer.ggml.model"])
        pre = _string(fields["tokenizer.ggml.pre"]) if "tokenizer.ggml.pre" in fields else "-"
        checks.append(Check("gguf vocabulary", not wrong,
                            f"{len(tokens)} tokens, {kind} tokenizer (pre-tokenizer {pre})" if not wrong else
                            f"{len(wrong)} of {len(ours)} tokens differ from the tokenizer's, first at id {wrong[0]}"))
    eos_field = fields.get("tokenizer.ggml.eos_token_id")
    eos = int(eos_field.parts[eos_field.data[0]][0]) if eos_field is not None else None
    checks.append(Check("gguf end-of-turn", eos == tokenizer.eos_token_id,
                        f"eos id {eos} ({tokenizer.convert_ids_to_tokens(eos) if eos is not None else 'missing'}); "
                        f"the tokenizer ends turns with {tokenizer.eos_token_id} ({tokenizer.eos_token})"))
    template = _string(fields["tokenizer.chat_template"]) if "tokenizer.chat_template" in fields else None
    want = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    checks.append(Check("gguf chat template", template == want,
                        "identical to the tokenizer's" if template == want else
                        "missing" if template is None else "differs from the tokenizer's"))
    return checks
