"""Retrieval over small tmp corpora of dated articles: as-of, time cues, filters,
duplicate folding and diversity. The logic does not depend on meaning, so these use
the fast HashingEmbedder; test_answers/test_session cover the seed with the real model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

try:
    from answer_fixtures import make_assistant, write_json_article, write_txt
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import make_assistant, write_json_article, write_txt

from dataclasses import replace

from assistant.retriever import Filters, Retriever, _jaccard, _shingles
from stand_in import HashingEmbedder


def build(tmp_path: Path, name: str, write) -> Retriever:
    corpus = tmp_path / name
    corpus.mkdir()
    write(corpus)
    na = make_assistant(HashingEmbedder(), corpus, tmp_path / f"{name}-store", tmp_path / "home")
    report = na.build_index()
    assert report.published and not report.skipped, report
    return na.retriever()


def files(result) -> list[str]:
    return [h.file for h in result.hits]


BRIDGE = [
    "Engineers closed the harbour bridge for repairs after inspectors found cracks in two steel cables.",
    "The harbour bridge repairs will cost the city council about four million dollars, officials said.",
]


# -- as-of ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dated(tmp_path_factory) -> Retriever:
    def write(c: Path) -> None:
        # Different words on one topic: near-identical texts would be folded as duplicates.
        write_txt(c, "jan.txt", "Harbour bridge closed for repairs", BRIDGE, "2022-01-10")
        write_txt(c, "mar.txt", "Harbour bridge repairs go on", [
            "Harbour bridge repairs are behind schedule because the new cables arrived late from the mill."],
            "2022-03-10")
        write_txt(c, "undated.txt", "Harbour bridge repairs explained", [
            "How are harbour bridge repairs done? Divers inspect the piers while climbers check each cable."],
            None)
    return build(tmp_path_factory.mktemp("dated"), "dated", write)


def test_as_of_excludes_later_articles(dated):
    res = dated.search("harbour bridge repairs", k=10, as_of=date(2022, 2, 1))
    assert sorted(files(res)) == ["jan.txt", "undated.txt"]
    assert res.excluded_future == 1
    # The as-of day itself is included.
    res = dated.search("harbour bridge repairs", k=10, as_of=date(2022, 3, 10))
    assert sorted(files(res)) == ["jan.txt", "mar.txt", "undated.txt"] and res.excluded_future == 0
    res = dated.search("harbour bridge repairs", k=10, as_of=date(2022, 1, 9))
    assert files(res) == ["undated.txt"] and res.excluded_future == 2


def test_empty_or_hopeless_queries(dated):
    assert dated.search("   ", as_of=date(2022, 4, 1)).hits == []
    assert dated.search("harbour", as_of=date(2022, 4, 1), filters=Filters(sources=("nobody",))).hits == []


# -- time cues ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timed(tmp_path_factory) -> Retriever:
    """`older` matches the question's words best; `newer` is the one of "this week"."""
    def write(c: Path) -> None:
        write_txt(c, "older.txt", "Council votes on harbour bridge repairs budget", [
            "The council voted on the harbour bridge repairs budget. Harbour bridge repairs "
            "dominated the council vote, and the bridge repairs budget passed.",
        ], "2022-03-01")
        write_txt(c, "newer.txt", "Traffic returns to the river crossing", [
            "Traffic returned to the river crossing after the council reopened it. "
            "Drivers said the bridge works had taken too long.",
        ], "2022-03-08")
        write_txt(c, "january.txt", "Council first discusses harbour bridge repairs", [
            "In a first debate the council discussed harbour bridge repairs and the budget for them.",
        ], "2022-01-12")
    return build(tmp_path_factory.mktemp("timed"), "timed", write)


def test_time_cue_prefers_its_window(timed):
    as_of = date(2022, 3, 10)
    plain = timed.search("council harbour bridge repairs budget vote", k=3, as_of=as_of)
    assert plain.window is None
    assert files(plain)[0] == "older.txt"  # best words, recent enough
    cued = timed.search("council harbour bridge repairs budget vote this week", k=3, as_of=as_of)
    assert cued.window is not None and cued.window.cue == "this week"
    assert (cued.window.start, cued.window.end) == (date(2022, 3, 2), as_of)
    assert files(cued)[0] == "newer.txt"  # the only article of the past eight days
    january = timed.search("council harbour bridge repairs budget vote in January", k=3, as_of=as_of)
    assert files(january)[0] == "january.txt"


# -- filters -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outlets(tmp_path_factory) -> Retriever:
    def write(c: Path) -> None:
        write_json_article(c, "2022/reuters-volcano.json", title="Volcano erupts", date="2022-05-02", source="Reuters",
                           text="Volcano eruption forces evacuation of island villages as ash clouds ground flights.")
        write_json_article(c, "2022/ap-volcano.json", title="Island volcano erupts", date="2022-06-20", source="AP",
                           text="A second volcano eruption in June led to a new evacuation of the northern coast.")
        write_json_article(c, "2021/nato-volcano.json", title="Old volcano eruption", date="2021-11-30",
                           source="Reuters", text="Scientists recall the last volcano eruption and its evacuation plan.")
        write_txt(c, "misc/volcano-undated.txt", "Volcano notes", [
            "Notes on volcano eruption warning signs and how an evacuation is ordered."], None)
    return build(tmp_path_factory.mktemp("outlets"), "outlets", write)


Q = "volcano eruption evacuation"
LATE = date(2023, 1, 1)


def test_date_range_filter(outlets):
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(date_from=date(2022, 5, 1), date_to=date(2022, 5, 31)))
    assert files(res) == ["2022/reuters-volcano.json"]
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(date_from=date(2022, 1, 1)))
    assert sorted(files(res)) == ["2022/ap-volcano.json", "2022/reuters-volcano.json"]  # undated is out
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(date_to=date(2021, 12, 31)))
    assert files(res) == ["2021/nato-volcano.json"]


def test_source_filter_is_case_insensitive(outlets):
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(sources=("reuters",)))
    assert sorted(files(res)) == ["2021/nato-volcano.json", "2022/reuters-volcano.json"]
    assert {h.source for h in res.hits} == {"Reuters"}
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(sources=("AP", "REUTERS")))
    assert len(res.hits) == 3


def test_file_glob_filter(outlets):
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(path_glob="2022/*"))
    assert sorted(files(res)) == ["2022/ap-volcano.json", "2022/reuters-volcano.json"]
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(path_glob="*nato*"))
    assert files(res) == ["2021/nato-volcano.json"]
    res = outlets.search(Q, k=10, as_of=LATE, filters=Filters(path_glob="*.txt"))
    assert files(res) == ["misc/volcano-undated.txt"]


def test_filters_combine_with_as_of(outlets):
    f = Filters(sources=("Reuters",), path_glob="2022/*")
    assert files(outlets.search(Q, k=10, as_of=LATE, filters=f)) == ["2022/reuters-volcano.json"]
    assert files(outlets.search(Q, k=10, as_of=date(2022, 1, 1), filters=f)) == []
    assert "Reuters" in f.describe() and "2022/*" in f.describe()


def test_hit_fields(outlets):
    (h,) = outlets.search(Q, k=10, as_of=LATE, filters=Filters(path_glob="*reuters*")).hits
    assert (h.title, h.date, h.source) == ("Volcano erupts", "2022-05-02", "Reuters")
    text = outlets.store.article_text(h.article_id)
    assert text[h.start : h.end] == h.text
    j = h.as_json()
    assert {"file", "title", "date", "source", "chunk_id", "start", "end", "text", "score"} <= set(j)


# -- duplicates and diversity ---------------------------------------------------------------

WIRE = [
    "Rescue teams searched collapsed buildings through the night after a strong earthquake struck the "
    "coastal province on Tuesday, the interior ministry said in a statement issued before dawn.",
    "At least forty people were confirmed dead and hundreds more were injured, according to hospital "
    "officials, who warned that the toll was likely to rise as crews reached remote mountain villages.",
]


@pytest.fixture(scope="module")
def wire(tmp_path_factory) -> Retriever:
    def write(c: Path) -> None:
        write_txt(c, "wire/quake.txt", "Earthquake kills dozens in coastal province", WIRE, "2022-04-05")
        # A syndicated copy: other outlet's folder and title, one word changed.
        copy = [WIRE[0], WIRE[1].replace("remote", "isolated")]
        write_txt(c, "mirror/quake-copy.txt", "Dozens killed as quake hits coast", copy, "2022-04-05")
        write_txt(c, "other/quake-analysis.txt", "Why the coast keeps shaking", [
            "Geologists say the coastal province sits on a fault where earthquake risk is high, and building "
            "codes are rarely enforced in mountain villages.",
        ], "2022-04-06")
    return build(tmp_path_factory.mktemp("wire"), "wire", write)


def test_near_identical_passages_collapse_into_one_hit(wire):
    res = wire.search("earthquake coastal province dead injured rescue", k=5, as_of=date(2022, 5, 1))
    copies = [h for h in res.hits if h.file in {"wire/quake.txt", "mirror/quake-copy.txt"}]
    assert len(copies) == 1, files(res)
    (h,) = copies
    assert set((h.file,) + h.duplicates) == {"wire/quake.txt", "mirror/quake-copy.txt"}
    assert "other/quake-analysis.txt" in files(res)
    assert h.as_json()["duplicates"] == list(h.duplicates)


def test_duplicate_measure():
    a = _shingles(" ".join(WIRE))
    b = _shingles(" ".join(WIRE).replace("remote", "isolated"))
    assert _jaccard(a, b) >= 0.8
    assert _jaccard(a, _shingles("An entirely different text about football and the league table.")) < 0.1


@pytest.fixture(scope="module")
def long_and_short(tmp_path_factory) -> Retriever:
    para = ("The drought dried the reservoir and farmers lost their wheat harvest; water rationing began in "
            "the valley towns while the drought went on for a {n} month. ")
    def write(c: Path) -> None:
        write_txt(c, "long.txt", "Drought dries reservoir, harvest lost",
                  [(para.format(n=n) * 3).strip() for n in ("first", "second", "third", "fourth", "fifth", "sixth")],
                  "2022-07-01")
        write_txt(c, "short.txt", "Valley rations water", [
            "Valley towns began water rationing as the reservoir fell during the drought.",
        ], "2022-07-02")
        write_txt(c, "offtopic.txt", "Chess final", ["A teenager won the chess final after five hours."], "2022-07-03")
    return build(tmp_path_factory.mktemp("long"), "long", write)


def test_top_hits_come_from_different_articles(long_and_short):
    r = long_and_short
    assert len(r.store.chunks_of("long.txt")) >= 4
    res = r.search("drought reservoir harvest water rationing", k=2, as_of=date(2022, 8, 1))
    assert sorted(files(res)) == ["long.txt", "short.txt"]
    # More than there are articles: every article once first, then second passages.
    res = r.search("drought reservoir harvest water rationing", k=5, as_of=date(2022, 8, 1))
    first_three = files(res)[:3]
    assert len(set(first_three)) == 3
    extra = res.hits[3:]
    assert extra and all(h.file == "long.txt" for h in extra)
    long_hits = [h for h in res.hits if h.file == "long.txt"]
    # Passages of the same article shown together do not mostly repeat each other
    # (neighbouring chunks share one sentence of overlap by design).
    for a in long_hits:
        for b in long_hits:
            if a is not b:
                overlap = min(a.end, b.end) - max(a.start, b.start)
                assert overlap <= 0.5 * min(a.end - a.start, b.end - b.start)


def test_scores_fuse_dense_and_keyword(long_and_short):
    res = long_and_short.search("chess final teenager", k=1, as_of=date(2022, 8, 1))
    (h,) = res.hits
    assert h.file == "offtopic.txt" and h.keyword > 0 and h.dense > 0


# -- stories ----------------------------------------------------------------------------------

BACKGROUND = [
    ("bg-chess.txt", "Chess final goes to a tiebreak", "A teenager won the chess final after five hours of play."),
    ("bg-rain.txt", "Storms soak the coast", "Heavy rain flooded coastal roads and closed two schools for a day."),
    ("bg-budget.txt", "Council passes budget", "The council passed its budget after a long debate about libraries."),
    ("bg-rail.txt", "Rail strike ends", "Train drivers ended their strike after a pay deal with the operators."),
    ("bg-zoo.txt", "Zoo welcomes panda cub", "Keepers at the zoo said the panda cub was healthy and feeding well."),
]


@pytest.fixture(scope="module")
def petrol(tmp_path_factory) -> Retriever:
    """One story over three weeks: `older` (April) matches the question's words best,
    `newest` is the newest report (and names the same association and spokesman),
    `newer` came a few days before it. `bakery` is another story sharing some words.
    The recency prior is off, so that words alone rank and each test sees one rule."""
    def write(c: Path) -> None:
        # Long, with two passages on the question: an article is worth its best passage
        # plus a little for a second one, so this one outranks the May reports on words.
        write_txt(c, "older.txt", "Average petrol price per gallon at record, Kestrel Motorists Association says", [
            "The average petrol price per gallon reached a record of four dollars, the Kestrel Motorists "
            "Association said. Average petrol price per gallon figures from Association spokesman Ovidius "
            "Brandt show the average petrol price per gallon rising every week since the winter, when the "
            "average petrol price per gallon stood at three dollars and the Association first warned drivers.",
            "Brandt said the average petrol price per gallon would keep rising while refineries stayed shut. "
            "The Association publishes the average petrol price per gallon every Friday, and this week's "
            "average petrol price per gallon was the highest the Kestrel Motorists Association has recorded "
            "in its forty years of surveys of petrol stations across the region.",
        ], "2022-04-29")
        write_txt(c, "newest.txt", "Petrol hits five dollars, Kestrel Motorists Association says", [
            "Drivers now pay five dollars at the pump, said Ovidius Brandt of the Kestrel Motorists Association.",
        ], "2022-05-20")
        write_txt(c, "newer.txt", "Kestrel Motorists Association warns of five dollar petrol", [
            "Ovidius Brandt of the Kestrel Motorists Association said petrol would soon cost five dollars a gallon.",
        ], "2022-05-16")
        write_txt(c, "bakery.txt", "Bakery prices rise", [
            "Bread cost more again, a bakery owner in Kestrel said, blaming petrol.",
        ], "2022-05-18")
        for name, title, text in BACKGROUND:
            write_txt(c, name, title, [text], "2022-04-01")
    r = build(tmp_path_factory.mktemp("petrol"), "petrol", write)
    return Retriever(r.store, r.embedder, replace(r.settings, recency_weight=0.0))


NOW_Q = "What is the average petrol price per gallon?"
PETROL_AS_OF = date(2022, 5, 25)


def test_reports_of_one_story_share_a_story_number(petrol):
    res = petrol.search(NOW_Q, k=10, as_of=PETROL_AS_OF)
    story = {h.file: h.story for h in res.hits}
    assert story["older.txt"] == story["newest.txt"] == story["newer.txt"] >= 0
    assert story["bakery.txt"] != story["newest.txt"]
    assert len({story[n] for n, _, _ in BACKGROUND if n in story} | {story["newest.txt"]}) == len(
        [n for n, _, _ in BACKGROUND if n in story]) + 1
    assert res.hits[0].as_json()["story"] == res.hits[0].story


def test_a_question_about_now_gets_the_newest_report_of_the_story(petrol):
    stale_first = Retriever(petrol.store, petrol.embedder, replace(petrol.settings, freshness=False))
    assert files(stale_first.search(NOW_Q, k=3, as_of=PETROL_AS_OF))[0] == "older.txt"  # best words
    res = petrol.search(NOW_Q, k=10, as_of=PETROL_AS_OF)
    order = files(res)
    # The story's best place goes to a report of its newest week, in relevance order within
    # that week; the March report, superseded, takes the story's lowest place.
    assert order[:2] == ["newest.txt", "newer.txt"]
    story = [f for f in order if f in {"older.txt", "newest.txt", "newer.txt"}]
    assert story == ["newest.txt", "newer.txt", "older.txt"]
    # The scores the story earned are handed out again, not invented.
    plain = Retriever(petrol.store, petrol.embedder, replace(petrol.settings, stories=False))
    before = {h.file: h.score for h in plain.search(NOW_Q, k=10, as_of=PETROL_AS_OF).hits}
    after = {h.file: h.score for h in res.hits}
    assert sorted(after[f] for f in story) == pytest.approx(sorted(before[f] for f in story))


def test_a_question_anchored_in_time_gets_the_report_from_that_time(petrol):
    res = petrol.search("What was the average petrol price per gallon in April?", k=3, as_of=PETROL_AS_OF)
    assert files(res)[0] == "older.txt"
    # Asked in the present tense but of April: the April report, not the newest.
    res = petrol.search("What is the average petrol price per gallon in April?", k=3, as_of=PETROL_AS_OF)
    assert files(res)[0] == "older.txt"


def test_a_story_repeat_weight_below_one_lets_other_stories_up(petrol):
    assert files(petrol.search(NOW_Q, k=4, as_of=PETROL_AS_OF))[3] == "bakery.txt"  # behind the whole story
    damped = Retriever(petrol.store, petrol.embedder, replace(petrol.settings, story_repeat_weight=0.3))
    order = files(damped.search(NOW_Q, k=10, as_of=PETROL_AS_OF))
    assert order[:2] == ["newest.txt", "bakery.txt"]
    assert order.index("newer.txt") > 1 and order.index("older.txt") > 1
