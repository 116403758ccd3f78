"""Answers that know their limits: a question the articles cannot answer gets "the
articles don't say" and the nearest articles (not citations); a question they answer
leads with the sentence that answers it; articles that give different figures are
shown side by side, newest first, each backed by a verified quote. Real model, real
index, real files, and the real CLI for `--json` and `--json -`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

try:
    from answer_fixtures import child_env, make_assistant, seed_index, write_md_articles
except ImportError:  # tests/ made a package
    from tests.answer_fixtures import child_env, make_assistant, seed_index, write_md_articles

from assistant.answer.answerability import abstention_message, model_declines
from assistant.answer.checker import check_answer
from assistant.answer.extractive import answer_type, holds_answer_kind

pytestmark = pytest.mark.slow
AS_OF = date(2022, 2, 1)
WORLD_CUP = "Who won the 2022 World Cup?"
GRUSHKO = "How did Grushko describe the differences?"
FLOODS_AS_OF = date(2031, 3, 20)
DEATHS = "How many people died in the Marlow Vale floods?"
VISITORS = "How many visitors did the Harrowgate book fair draw?"

# An invented story, written for these tests: two reports of one flood whose death
# toll rose between them, and two reports of a fair that agree.
STORIES = {
    "ilse-first.md": ("2031-03-10", "Northwire", "Storm Ilse floods Marlow Vale",
                      "Storm Ilse flooded the town of Marlow Vale on Monday night. At least 23 people died in the "
                      "Marlow Vale floods, the regional council said on Tuesday. Rescue teams searched the river banks "
                      "through the night and hundreds of homes were left without power."),
    "ilse-update.md": ("2031-03-13", "Coastal Herald", "Marlow Vale death toll rises",
                       "The death toll from the Marlow Vale floods has risen sharply. Officials said 30 people died in "
                       "the Marlow Vale floods after more victims were found downstream. The regional council reopened "
                       "the main bridge on Thursday."),
    "fair-a.md": ("2031-03-05", "Northwire", "Harrowgate book fair",
                  "The Harrowgate book fair drew 4,000 visitors on Saturday, its organisers said. Authors signed books "
                  "in the old market hall until late in the evening."),
    "fair-b.md": ("2031-03-06", "Coastal Herald", "A busy weekend in Harrowgate",
                  "Organisers said the Harrowgate book fair drew 4,000 visitors over the weekend. Next year the fair "
                  "moves to the new library on the harbour."),
}


def write_stories(folder: Path) -> Path:
    return write_md_articles(folder, STORIES)


@pytest.fixture(scope="module")
def seed(tmp_path_factory, minilm):
    return seed_index(tmp_path_factory, minilm)


@pytest.fixture(scope="module")
def stories(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("stories")
    home = root / "home"
    home.mkdir()
    na = make_assistant(minilm, write_stories(root / "articles"), root / "store", home)
    assert na.build_index().articles == len(STORIES)
    return na


def test_a_question_the_seed_cannot_answer_abstains(seed):
    na = seed.assistant()
    ans = na.ask(WORLD_CUP, as_of=AS_OF)
    assert not ans.answerable and ans.confidence < 0.5
    assert ans.text == "The articles up to 2022-02-01 don't say who won the 2022 World Cup."
    assert ans.sentences == () and ans.citations == ()  # nothing is cited
    assert ans.hits and [c.file for c in ans.nearest] == [h.file for h in ans.hits]
    data = ans.as_json()
    assert data["answerable"] is False and data["confidence"] == ans.confidence and data["citations"] == []


def test_the_grushko_question_still_answers_with_the_fundamental_quote(seed):
    na = seed.assistant()
    ans = na.ask(GRUSHKO, as_of=AS_OF)
    assert ans.answerable and ans.confidence >= 0.5
    lead = ans.sentences[0]
    assert "Fundamental" in lead.text and lead.status == "supported"
    assert "Fundamental" in ans.citations[0].quote and check_answer(ans, na.store()) == []


@pytest.mark.parametrize("question", ["What did Grushko say about NATO?", "How did Grushko describe the talks with NATO?"])
def test_how_a_question_is_put_does_not_make_it_unanswerable(seed, question):
    """In a one-article archive "did" and "about" are rare enough to weigh like names;
    they say how the question is put, not what it asks about."""
    na = seed.assistant()
    ans = na.ask(question, as_of=AS_OF)
    assert ans.answerable and ans.sentences and ans.citations and check_answer(ans, na.store()) == []
    # A name the archive lacks still decides, however the question is put.
    assert not seed.assistant().ask("What did Biden say about NATO?", as_of=AS_OF).answerable


def test_headings_are_never_picked_or_glued():
    # "It all depends on Putin" is a subheading of the seed: no end punctuation.
    from assistant.answer.extractive import ExtractiveEngine

    try:
        from answer_fixtures import make_hit
    except ImportError:
        from tests.answer_fixtures import make_hit
    text = ("It all depends on Putin\n\nEverything now depends on Vladimir Putin, suggested Ms. Sherman. "
            "The talks will resume in Vienna.")
    (lead, *_) = ExtractiveEngine().select("What depends on Putin?", [make_hit(text)])
    assert lead.text == "Everything now depends on Vladimir Putin, suggested Ms. Sherman."


def test_a_question_in_an_article_is_never_the_answer():
    # A quiz article repeats the question word for word; the statement after it answers.
    from assistant.answer.extractive import ExtractiveEngine

    try:
        from answer_fixtures import make_hit
    except ImportError:
        from tests.answer_fixtures import make_hit
    question = "Which company is accused of turning off the AC in its stores?"
    text = ("Which company is accused of turning off the AC in its stores? "
            "Bed Bath & Beyond denied that any store was told to adjust its air conditioning. "
            "Shoppers at its stores asked, “Which company is turning off the AC in its stores?”")
    sentences = ExtractiveEngine().select(question, [make_hit(text)])
    assert sentences and all(not s.text.rstrip("”\"'").endswith("?") for s in sentences)
    assert sentences[0].text.startswith("Bed Bath & Beyond denied")


def test_support_may_come_from_the_leads_article_but_not_all_of_it():
    from assistant.answer.extractive import ExtractiveEngine

    try:
        from answer_fixtures import make_hit
    except ImportError:
        from tests.answer_fixtures import make_hit
    first = "At least 23 people died in the Marlow Vale floods, the council said on Tuesday."
    rescue = "Rescue teams in Marlow Vale said more people may have died in the floods overnight as the water rose."
    named = "Officials in Marlow Vale said people who died in the floods will be named on Friday."
    report = "Flooding began on Monday night. " + " ".join([first, rescue, named])
    other = "30 people died in the Marlow Vale floods, officials in Hull reported."
    engine = ExtractiveEngine()
    alone = engine.select(DEATHS, [make_hit(report)])
    assert [s.text for s in alone] == [first, rescue]  # two of one report's sentences, never three
    both = engine.select(DEATHS, [make_hit(report), make_hit(other, file="b.txt", chunk_id=2)])
    assert [s.text for s in both] == [first, other, rescue]


def test_the_direct_answer_leads():
    assert answer_type("How many people died?") == "number"
    assert answer_type("Where was the event?") == "place"
    assert answer_type("When will the talks resume?") == "date"
    assert answer_type("Which company was accused?") == "name"
    # A sentence holding a thing of the asked kind that the question does not name.
    assert holds_answer_kind("At least 23 people died.", "number", "How many people died?")
    assert not holds_answer_kind("People died in the floods.", "number", "How many people died?")
    assert holds_answer_kind("The event was in Coeur d'Alene, Idaho.", "place", "Where was the event?")


def test_a_question_about_recent_news_needs_a_recent_report(stories):
    recently = "How many people died recently in the Marlow Vale floods?"
    assert stories.ask(recently, as_of=FLOODS_AS_OF).answerable  # the reports are a week old
    months_later = date(2031, 6, 1)
    ans = stories.ask(recently, as_of=months_later)  # the newest report is 80 days old
    assert not ans.answerable and ans.sentences == ()
    assert ans.text == "The articles up to 2031-06-01 don't say how many people died recently in the Marlow Vale floods."
    assert [c.date for c in ans.nearest][:2] == ["2031-03-13", "2031-03-10"]  # what there is, with its dates
    assert ("The question is about 2031-05-02 to 2031-06-01 (“recently”); none of the nearest articles is dated "
            "then. To read older articles as of their own time, ask with an earlier as-of date.") in ans.notices
    # Without a word of recency the same reports still answer, and so they do for words
    # that also do other work ("the latest", "new").
    assert stories.ask(DEATHS, as_of=months_later).answerable
    assert stories.ask("What is the latest death toll in the Marlow Vale floods?", as_of=months_later).answerable
    assert stories.ask("How many people died in the Marlow Vale floods, by the new count?", as_of=months_later).answerable


def test_a_question_about_this_week_is_answered_from_this_weeks_reports_alone(stories):
    # As of 2031-03-22 "this week" reaches back to 2031-03-12: the update (03-13) is from
    # it, the first report (03-10, 23 dead) is not, however well it matches.
    as_of = date(2031, 3, 22)
    ans = stories.ask("How many people died in the Marlow Vale floods this week?", as_of=as_of)
    assert ans.answerable and "30 people died" in ans.text and "23" not in ans.text
    assert {c.date for c in ans.citations} == {"2031-03-13"} and {h.date for h in ans.hits} == {"2031-03-13"}
    assert ans.differences == ()  # the older toll is not a source that differs
    (note,) = [n for n in ans.notices if n.startswith("Only reports")]
    assert note.startswith("Only reports dated 2031-03-12 to 2031-03-22 were read (“this week”); ")
    assert note.endswith("from other times were set aside.") or note.endswith("from other times was set aside.")
    assert check_answer(ans, stories.store()) == []
    # Asked without the week, both reports answer, and they differ.
    both = stories.ask(DEATHS, as_of=as_of)
    assert {c.date for c in both.citations} >= {"2031-03-13", "2031-03-10"} and both.differences
    assert not any(n.startswith("Only reports") for n in both.notices)


def test_a_question_with_nothing_but_a_time_is_still_held_to_it(seed):
    # No term of "What happened this week?" is left to check; its week still is.
    na = seed.assistant()
    assert na.ask("What happened this week?", as_of=AS_OF).answerable  # the seed is from 2022-01-23
    later = na.ask("What happened this week?", as_of=date(2022, 3, 1))
    assert not later.answerable and later.text == "The articles up to 2022-03-01 don't say what happened this week."
    assert any("(“this week”); none of the nearest articles is dated then" in n for n in later.notices)


def test_sources_that_differ_are_shown_newest_first_with_verified_quotes(stories):
    ans = stories.ask(DEATHS, as_of=FLOODS_AS_OF)
    assert ans.answerable
    (diff,) = ans.differences
    assert [c.value for c in diff.claims] == ["30", "23"]  # the newer report first
    assert [c.date for c in diff.claims] == ["2031-03-13", "2031-03-10"]
    assert [c.source for c in diff.claims] == ["Coastal Herald", "Northwire"]
    cited = {c.n: c for c in ans.citations}
    assert "30 people died" in cited[diff.claims[0].n].quote and "23 people died" in cited[diff.claims[1].n].quote
    assert check_answer(ans, stories.store()) == []  # both quotes verified against the index
    from assistant.render import difference_line

    line = difference_line(diff)
    assert line.startswith("Sources differ on people: [") and "(2031-03-13, Coastal Herald) says 30" in line


def test_articles_that_agree_produce_no_note(stories):
    ans = stories.ask(VISITORS, as_of=FLOODS_AS_OF)
    assert ans.answerable and "4,000 visitors" in ans.text
    assert ans.differences == ()


def test_abstention_and_differences_reach_the_export(seed, stories, tmp_path):
    md = seed.assistant().export(seed.assistant().ask(WORLD_CUP, as_of=AS_OF), tmp_path / "wc.md").read_text()
    assert "don't say who won the 2022 World Cup" in md and "Nearest articles" in md and "**Sources**" not in md
    md = stories.export(stories.ask(DEATHS, as_of=FLOODS_AS_OF), tmp_path / "floods.md").read_text()
    assert "Sources differ on people" in md


def test_a_model_saying_the_passages_do_not_answer_is_recognised():
    assert model_declines("The passages do not say who won the World Cup.")
    assert model_declines("There is no information about the World Cup in the provided passages.")
    assert model_declines("I cannot determine the winner from the articles.")
    assert not model_declines("Grushko judged the differences “Fundamental” [1].")
    assert abstention_message("Is it over?", AS_OF) == "The articles up to 2022-02-01 don't answer “Is it over?”"


def test_ask_json_and_json_lines_on_stdin(seed):
    env = dict(child_env(seed.home), NEWS_ASSISTANT_EMBEDDER="minilm-fp32")  # the store was built with fp32
    where = ["--corpus", str(seed.corpus), "--store", str(seed.store_dir)]
    one = subprocess.run([sys.executable, "-m", "assistant", "ask", WORLD_CUP, "--json", "--as-of", "2022-02-01", *where],
                         capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["answerable"] is False and "confidence" in data and data["differences"] == []
    lines = "\n".join([json.dumps({"id": "wc", "question": WORLD_CUP, "as_of": "2022-02-01"}),
                       json.dumps({"id": "g", "question": GRUSHKO, "as_of": "2022-02-01"}),
                       "{not json", json.dumps({"id": "empty", "question": ""})]) + "\n"
    many = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "-", *where], input=lines,
                          capture_output=True, text=True, env=env, timeout=300)
    assert many.returncode == 0, many.stderr
    out = [json.loads(line) for line in many.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["wc", "g", None, None]
    assert out[0]["answerable"] is False and out[1]["answerable"] is True and "Fundamental" in out[1]["answer"]
    assert "error" in out[2] and out[2]["line"] == 3 and "error" in out[3]


def test_cli_prints_the_abstention_and_the_nearest_articles(seed):
    env = dict(child_env(seed.home), NEWS_ASSISTANT_EMBEDDER="minilm-fp32")  # the store was built with fp32
    done = subprocess.run([sys.executable, "-m", "assistant", "ask", WORLD_CUP, "--as-of", "2022-02-01",
                           "--corpus", str(seed.corpus), "--store", str(seed.store_dir)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "don't say who won the 2022 World Cup" in out
    assert "Nearest articles (they do not answer the question)" in out and "Sources" not in out.split("Nearest")[0]
