"""The verdicts of export checks: identical answers, near-ties that rounding may tip, and real differences."""

from __future__ import annotations

from engine.export.checks import TIE_LOGITS, same_answers, sane_answers


class Words:
    """A stand-in tokenizer for the verdicts' wording: ids are words, 0 ends the turn."""

    eos_token_id, eos_token = 0, "<end>"

    def decode(self, ids):
        return " ".join(map(str, ids))


def test_identical_answers_pass():
    check = same_answers("merged reloads", [[5, 6, 0]], [[5, 6, 0]], Words())
    assert check.ok and "token for token identical" in check.detail and "1 stop" in check.detail


def test_a_difference_where_the_adapter_was_undecided_passes_and_says_so():
    seen = []

    def margin(probe, prefix, a, b):
        seen.append((probe, prefix, a, b))
        return TIE_LOGITS / 10

    check = same_answers("merged reloads", [[5, 6, 0], [1, 9]], [[5, 6, 0], [1, 2]], Words(), margin)
    assert check.ok and "probe 2 from token 1, a tie within" in check.detail
    assert seen == [(1, [1], 2, 9)]  # asked about the adapter's token against the export's, after the shared prefix


def test_a_difference_the_adapter_was_sure_about_fails_with_both_answers():
    check = same_answers("merged reloads", [[1, 9]], [[1, 2]], Words(), lambda *a: 3.0)
    assert not check.ok and "differ from token 1" in check.detail and "by 3.000 logits" in check.detail
    assert "'1 9' vs the run's '1 2'" in check.detail
    assert not same_answers("adapter reloads", [[1, 9]], [[1, 2]], Words()).ok  # no margin: any difference fails


def test_a_quantised_answer_must_stop_where_the_adapters_does():
    assert sane_answers("gguf q8_0 answers", [[1, 3, 0]], [[1, 2, 0]], Words()).ok
    check = sane_answers("gguf q8_0 answers", [[1, 3, 3]], [[1, 2, 0]], Words())
    assert not check.ok and "never reaches the end-of-turn token" in check.detail
    assert not sane_answers("gguf q8_0 answers", [[]], [[1, 0]], Words()).ok
