"""Word boxes of OCR'd passages: packed small, exact to a fraction of a pixel, and matched to the words shown."""

from __future__ import annotations

from desktop.core import word_boxes


def test_boxes_round_trip_within_a_pixel_of_a_large_page() -> None:
    boxes = [(0.1, 0.2, 0.35, 0.25), (0.0, 0.0, 1.0, 1.0), (0.123456, 0.5, 0.654321, 0.75)]
    packed = word_boxes.pack(boxes)
    assert len(packed) == 8 * len(boxes)  # 8 bytes a word
    for got, want in zip(word_boxes.unpack(packed), boxes, strict=True):
        assert all(abs(a - b) < 1 / 20_000 for a, b in zip(got, want, strict=True))


def test_the_words_of_a_span_get_their_boxes() -> None:
    text = "The ferry\ntimetable changes\n\nin October."
    packed = word_boxes.pack([(i / 10, 0.0, (i + 1) / 10, 0.1) for i in range(6)])
    assert len(word_boxes.boxes_for(text, packed)) == 6
    start = text.index("timetable")
    chosen = word_boxes.boxes_for(text, packed, [(start + 3, start + len("timetable ch"))])  # inside two words
    assert [round(box[0] * 10) for box in chosen] == [2, 3]


def test_boxes_that_do_not_match_the_text_mark_nothing() -> None:
    packed = word_boxes.pack([(0.0, 0.0, 0.1, 0.1)] * 3)
    assert word_boxes.boxes_for("two words", packed) == ()
    assert word_boxes.boxes_for("two words", None) == ()
