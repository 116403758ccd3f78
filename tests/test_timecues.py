"""Time cues in questions become date windows relative to the as-of date."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.timecues import find_time_window, parse_as_of
from index.errors import ConfigError

AS_OF = date(2022, 3, 10)  # a Thursday


@pytest.mark.parametrize("question, start, end, cue", [
    ("What happened today?", date(2022, 3, 9), AS_OF, "today"),
    ("What did Biden say yesterday?", date(2022, 3, 8), AS_OF, "yesterday"),
    ("What did NATO decide this week?", date(2022, 3, 2), AS_OF, "this week"),
    ("Any news from the past few days?", date(2022, 3, 2), AS_OF, "the past few days"),
    ("Who resigned a few days ago?", date(2022, 3, 2), AS_OF, "days ago"),
    ("What was agreed last week?", date(2022, 2, 23), AS_OF, "last week"),
    ("What changed this month?", date(2022, 2, 7), AS_OF, "this month"),
    ("What was announced two weeks ago?", date(2022, 2, 7), AS_OF, "weeks ago"),
    ("What happened last month?", date(2022, 2, 1), date(2022, 2, 28), "last month"),
    ("What was signed this year?", date(2022, 1, 1), AS_OF, "this year"),
    ("Who won last year?", date(2021, 1, 1), date(2021, 12, 31), "last year"),
    ("What did the minister say in January?", date(2022, 1, 1), date(2022, 1, 31), "in January"),
    ("What happened in early Feb. 2021?", date(2021, 2, 1), date(2021, 2, 28), "in early Feb. 2021"),
    ("What did they agree in May?", date(2021, 5, 1), date(2021, 5, 31), "in May"),  # May is after March: last year's
    ("Protests during October?", date(2021, 10, 1), date(2021, 10, 31), "during October"),
    ("What happened in 2020?", date(2020, 1, 1), date(2020, 12, 31), "in 2020"),
])
def test_strong_cues(question, start, end, cue):
    w = find_time_window(question, AS_OF)
    assert w is not None
    assert (w.start, w.end, w.cue, w.strength) == (start, end, cue, "strong")


def test_current_month_window_ends_at_as_of():
    w = find_time_window("What happened in March?", AS_OF)
    assert (w.start, w.end) == (date(2022, 3, 1), AS_OF)


def test_last_month_in_january_is_last_december():
    w = find_time_window("What happened last month?", date(2022, 1, 15))
    assert (w.start, w.end) == (date(2021, 12, 1), date(2021, 12, 31))


@pytest.mark.parametrize("question", ["What is the latest on the talks?", "What did he say recently?",
                                      "What is happening now in Kyiv?"])
def test_vague_cues_are_soft(question):
    w = find_time_window(question, AS_OF)
    assert w is not None and w.strength == "soft"
    assert (w.start, w.end) == (date(2022, 2, 8), AS_OF)


@pytest.mark.parametrize("question, binding, cue", [
    ("Which team recently won the title?", True, "recently"),
    ("Where is the company currently based?", True, "currently"),
    ("A new law could soon raise the wage to what amount?", True, "could soon"),  # whichever comes first
    ("How soon could the vaccines be available?", True, "How soon"),
    ("What happened this week?", True, "this week"),  # every explicit cue binds
    # Words that also do other work guide retrieval but bind nothing.
    ("What is the latest on the talks?", False, "latest"),
    ("What did the New York mayor say?", False, "New"),
    ("Just how many people came?", False, "Just"),
    ("What is happening now in Kyiv?", False, "now"),
    ("What did current and former officials say?", False, "current"),
    ("What did the most recent census show?", False, "recent"),
    ("What did he sign soon after taking office?", False, "soon"),
])
def test_only_words_that_say_nothing_but_recency_bind_an_answer_to_the_window(question, binding, cue):
    w = find_time_window(question, AS_OF)
    assert w is not None and w.binding is binding and w.cue == cue


@pytest.mark.parametrize("question", [
    "How did Grushko describe the differences?",
    "What may the alliance do about Ukraine?",  # "may" the verb is no month
    "What did Mayor Smith say about the marathon?",  # neither is "Mayor" or "mar" in "marathon"
    "What did the 2022 budget include?",  # a bare year is a name, not a cue
    "Who is the head of the Secretariat?",
])
def test_no_cue(question):
    assert find_time_window(question, AS_OF) is None


def test_cue_windows_never_pass_the_as_of_date():
    for q in ("today", "this week", "this month", "this year", "in March", "in 2022", "recently"):
        w = find_time_window(q, AS_OF)
        assert w.end <= AS_OF and w.start <= w.end, q


@pytest.mark.parametrize("text, expected", [
    ("2022-06-16", date(2022, 6, 16)),
    ("June 16, 2022", date(2022, 6, 16)),
    ("16 June 2022", date(2022, 6, 16)),
    ("today", date(2022, 3, 10)),
    (" Today ", date(2022, 3, 10)),
    ("yesterday", date(2022, 3, 9)),
    (None, date(2022, 3, 10)),
    ("", date(2022, 3, 10)),
])
def test_parse_as_of(text, expected):
    assert parse_as_of(text, today=AS_OF) == expected


@pytest.mark.parametrize("text", ["next tuesday-ish", "2022-13-45", "soon"])
def test_parse_as_of_rejects_non_dates(text):
    with pytest.raises(ConfigError) as e:
        parse_as_of(text, today=AS_OF)
    assert text in e.value.message and e.value.hint


def test_cue_after_the_as_of_date_gives_no_inverted_window():
    w = find_time_window("What happened in 2023?", AS_OF)
    assert w is None or w.start <= w.end
