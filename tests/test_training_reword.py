from __future__ import annotations

from training.reword import different, overlap_words, reworded

SENTENCE = "Russia keeps about 3,000 troops at its military base in Gyumri, the commander said."
TABLE = {"troops": "soldiers", "military": "army", "base": "outpost", "said": "stated", "keeps": "has"}


def test_only_the_words_the_sentence_shares_are_replaced() -> None:
    question = "How many troops does Russia have at the base in Gyumri, and who funds it?"
    assert overlap_words(question, SENTENCE) == ["troops", "base"]  # "Russia", "Gyumri": names stay
    assert reworded(question, SENTENCE, TABLE) == (
        "How many soldiers does Russia have at the outpost in Gyumri, and who funds it?"
    )


def test_a_replacement_the_sentence_also_has_is_no_rewording() -> None:
    table = {**TABLE, "troops": "military"}  # "military" is in the sentence: nothing gained
    assert reworded("How many troops are there?", SENTENCE, table) is None
    assert reworded("Who pays for the base?", "Nothing in common here.", TABLE) is None


def test_at_most_three_words_change() -> None:
    question = "troops military base said keeps"
    changed = reworded(question, SENTENCE, TABLE)
    assert changed is not None
    assert sum(a != b for a, b in zip(question.split(), changed.split(), strict=True)) == 3


def test_other_forms_and_prefixed_opposites_are_not_other_words() -> None:
    assert different("film", "movie")
    assert not different("troops", "troop")  # same stem
    assert not different("construct", "construction")  # same start
    assert not different("enabled", "disabled")  # same end: an opposite by its prefix
    assert not different("using", "usage")  # a verb's form against a noun
