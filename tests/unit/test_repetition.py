"""The repetition guard's rule, on text fed as a model streams it."""

from __future__ import annotations

from desktop.services.repetition import RepetitionGuard

LOOP = "This is because you are creating a new table that does not exist yet."


def _fed(*pieces: str, finish: bool = False) -> RepetitionGuard:
    guard = RepetitionGuard()
    for piece in pieces:
        guard.feed(piece)
    if finish:
        guard.finish()
    return guard


def test_a_sentence_written_a_third_time_is_a_loop_and_the_answer_keeps_one_copy() -> None:
    text = (f"Make a new table. {LOOP}\n7. Copy the rows across to it now.\n8. {LOOP}\n"
            f"9. Drop the old one please.\n10. {LOOP}\n11. ")
    guard = _fed(*(text[i : i + 7] for i in range(0, len(text), 7)))
    assert guard.looping and guard.keep is not None
    assert text[: guard.keep].rstrip() == f"Make a new table. {LOOP}\n7. Copy the rows across to it now."


def test_twice_is_a_reminder_not_a_loop() -> None:
    assert not _fed(f"{LOOP} In short, rebuild it. {LOOP} Done.", finish=True).looping


def test_short_sentences_may_repeat() -> None:
    assert not _fed("Yes, it does. " * 5, finish=True).looping


def test_a_sentence_still_being_written_is_not_yet_a_copy() -> None:
    unfinished = f"{LOOP} {LOOP} {LOOP[:-1]}"
    assert not _fed(unfinished).looping, "'... yet' may still become '... yet, says the manual.'"
    assert _fed(unfinished + ".").looping
    assert _fed(unfinished, finish=True).looping, "the answer ended there: the sentence is whole"
