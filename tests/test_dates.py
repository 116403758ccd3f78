"""parse_date: the forms news sites print, and nothing that merely contains a year."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from index.dates import parse_date


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2022-01-23", date(2022, 1, 23)),
        ("  2022-01-23  ", date(2022, 1, 23)),
        ("2022-01-23T10:15:00Z", date(2022, 1, 23)),
        ("2022-01-23 10:15:00+01:00", date(2022, 1, 23)),
        ("January 23, 2022", date(2022, 1, 23)),
        ("Jan. 23, 2022", date(2022, 1, 23)),
        ("Jan 23rd, 2022", date(2022, 1, 23)),
        ("23 January 2022", date(2022, 1, 23)),
        ("Sunday, January 23, 2022", date(2022, 1, 23)),
        ("2022/01/23", date(2022, 1, 23)),
        ("01/23/2022", date(2022, 1, 23)),
        ("23.01.2022", date(2022, 1, 23)),
        ("2022 Jan 23", date(2022, 1, 23)),
        ("Published Jan. 5, 2022 at 10:00 ET", date(2022, 1, 5)),
        ("Updated: January 23, 2022 10:31 a.m. ET", date(2022, 1, 23)),
        ("Posted 5:00 PM, January 3, 2022", date(2022, 1, 3)),
        ("Dec. 1, 1999", date(1999, 12, 1)),
        ("Jan 23 2022 | Reuters", date(2022, 1, 23)),
    ],
)
def test_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2022",  # a year is not a day
        "2022-02-30",  # no such day
        "2022-13-01",
        "World Cup 2022",  # titles with a year used to come back as 2022-01-01 ...
        "Brexit 2019",
        "March Madness 2022",
        "10 things these cicadas have missed since 1996",  # ... or as 1996-10-01
        "Top 10 movies of 2021",
        "The 10 best March 2022 releases",
        "Russia and NATO note their disagreements, without ruling out continuing their discussions",
        "The meeting was held on Wednesday January 12, 2022 in Brussels after long talks.",
        "It was necessary to look for it with attention, but there was indeed a signal in 2019.",
        "January 23, 2022 " + "x" * 60,  # too long for a date line
        "Posted by staff",
    ],
)
def test_not_dates(text):
    assert parse_date(text) is None


def test_unknown_time_zone_names_do_not_warn():
    # dateutil warns on "ET" (and says it will raise in a future version).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_date("Published Jan. 5, 2022 at 10:00 ET") == date(2022, 1, 5)
        assert parse_date("January 5, 2022 9:00 PST") == date(2022, 1, 5)


FORMATS = ["%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%A, %B %d, %Y", "%Y/%m/%d", "%m/%d/%Y"]


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.sampled_from(FORMATS))
def test_formatted_dates_round_trip(day, fmt):
    assert parse_date(day.strftime(fmt)) == day


DATEISH = st.from_regex(
    r"[A-Za-z ,.:|/\-]{0,15}(19|20)\d\d[A-Za-z0-9 ,.:/|\-]{0,20}", fullmatch=True
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), DATEISH, st.text(alphabet="0123456789-/.: TZ+", max_size=30)))
def test_parse_date_never_raises(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = parse_date(text)
    assert result is None or (isinstance(result, date) and 1900 <= result.year)
