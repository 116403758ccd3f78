"""Story groups (assistant/stories.py): pure logic over small made-up profiles, and
question kinds (assistant/timecues.py) that decide the order inside a story."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.stories import (
    Profile,
    StoryArticle,
    StorySettings,
    TermStats,
    group_stories,
    key_terms,
    profile_text,
    similarity,
)
from assistant.timecues import find_time_window, question_time_kind

# Background articles give the terms realistic rarity: "court", "police", "city" are
# everywhere, the names of one story are not.
BACKGROUND = [
    "Police said the city court heard the case on Monday.",
    "The city council and police met officials at the court.",
    "Officials in the city said police would attend the court hearing.",
    "A court in the city fined a company, police and officials said.",
    "The Federal Reserve raised interest rates again, officials said.",
    "Flooding closed roads in the city; police asked drivers to stay home.",
]
GRINER_1 = profile_text("Russian court extends Brittney Griner's detention",
                        "A court near Moscow extended the detention of WNBA star Brittney Griner, of the Phoenix Mercury.")
GRINER_2 = profile_text("Griner trial to start Friday",
                        "Brittney Griner appeared in a Khimki court on Monday; the Phoenix Mercury center faces trial.")
RATES = profile_text("Fed raises rates", "The Federal Reserve raised interest rates by three quarters of a point.")


def stats(*texts: str) -> TermStats:
    return TermStats.from_texts([*BACKGROUND, *texts])


def art(aid: str, text: str, st: TermStats, day: date | None = date(2022, 6, 27)) -> StoryArticle:
    return StoryArticle(aid, day, Profile.of(text, st))


def test_key_terms_normalise_possessives_and_plurals_and_drop_stopwords():
    assert key_terms("Griner's lawyers said the trials") == ["griner", "lawyer", "trial"]
    # Single characters ("$5" -> "5") say nothing about a story.
    assert key_terms("The Phoenix Mercury's 2022 season, $5") == ["phoenix", "mercury", "2022", "season"]
    assert "business" in key_terms("business")  # -ss words keep their ending


def test_profile_keeps_title_and_the_names_of_the_lead_not_its_other_words():
    text = profile_text("Court rules", "Brittney Griner appeared in a Khimki court on Monday near Moscow.")
    terms = set(key_terms(text))
    assert {"court", "rule", "griner", "khimki", "moscow"} <= terms
    assert "appeared" not in terms  # a lead's ordinary words vary between reports of one story


def test_rare_terms_weigh_more_than_common_ones():
    st = stats(GRINER_1)
    assert st.idf("griner") > st.idf("court") > 0
    assert st.idf("never-seen") > st.idf("griner")


def test_similarity_is_high_for_one_story_and_low_across_stories():
    st = stats(GRINER_1, GRINER_2, RATES)
    g1, g2, rates = (Profile.of(t, st) for t in (GRINER_1, GRINER_2, RATES))
    assert similarity(g1, g1) == pytest.approx(1.0)
    assert similarity(g1, g2) >= StorySettings().min_similarity
    assert similarity(g1, rates) < 0.1
    assert similarity(g1, Profile.of("", st)) == 0.0


def test_group_stories_keeps_order_and_explains_itself():
    st = stats(GRINER_1, GRINER_2, RATES)
    stories = group_stories([art("g1", GRINER_1, st), art("rates", RATES, st), art("g2", GRINER_2, st)])
    assert [s.article_ids for s in stories] == [["g1", "g2"], ["rates"]]
    shared = stories[0].shared_terms()
    # "Brittney" opens GRINER_2's lead, where a capital proves nothing, so it is no name there.
    assert {"griner", "phoenix", "mercury"} <= set(shared) and "court" not in shared[:3]
    assert stories[0].first == stories[0].last == date(2022, 6, 27)


def test_reports_far_apart_in_time_are_separate_stories_but_undated_ones_may_join():
    st = stats(GRINER_1, GRINER_2)
    span = StorySettings().span_days
    early = art("early", GRINER_1, st, date(2022, 3, 1))
    late = art("late", GRINER_2, st, date.fromordinal(date(2022, 3, 1).toordinal() + span + 1))
    assert len(group_stories([early, late])) == 2
    near = art("near", GRINER_2, st, date.fromordinal(date(2022, 3, 1).toordinal() + span))
    assert len(group_stories([early, near])) == 1
    assert len(group_stories([early, art("undated", GRINER_2, st, None)])) == 1


def test_grouping_compares_with_the_leader_so_chains_do_not_merge_stories():
    # b shares half its names with a, c half with b and nothing with a.
    a = "Alpha Bravo Charlie Delta"
    b = "Charlie Delta Echo Foxtrot"
    c = "Echo Foxtrot Golf Hotel"
    st = stats(a, b, c)
    settings = StorySettings(min_similarity=0.3)
    pa, pb, pc = (art(x, t, st) for x, t in (("a", a), ("b", b), ("c", c)))
    assert similarity(pa.profile, pb.profile) >= 0.3 and similarity(pb.profile, pc.profile) >= 0.3
    assert [s.article_ids for s in group_stories([pa, pb, pc], settings)] == [["a", "b"], ["c"]]


# -- what a question asks of time -------------------------------------------------------

AS_OF = date(2022, 10, 20)


@pytest.mark.parametrize("question, kind", [
    ("Gas prices hit a record. On average, how much does it cost for a gallon of regular gas?", "current"),
    ("Approximately how many people have been arrested during the current protests in Iran?", "current"),
    ("Who is the prime minister of Britain now?", "current"),
    ("How many Russians could soon be conscripted?", "current"),
    ("Which team won the 2022 Stanley Cup?", "any"),
    ("Liz Truss became prime minister of which country this week?", "any"),
    ("How many months was her detention extended?", "any"),
    ("When did the Queen die?", "anchored"),
    ("What did the minister say in March?", "anchored"),
    ("Who is the prime minister since the vote last month?", "anchored"),
])
def test_question_time_kind(question, kind):
    assert question_time_kind(question, find_time_window(question, AS_OF), AS_OF) == kind


def test_over_the_last_year_means_the_past_twelve_months():
    w = find_time_window("How many books were banned over the last year?", AS_OF)
    assert w is not None and (w.start, w.end) == (date(2021, 10, 19), AS_OF)
    w = find_time_window("Who won last year?", AS_OF)
    assert w is not None and (w.start, w.end) == (date(2021, 1, 1), date(2021, 12, 31))
