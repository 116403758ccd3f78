"""Boilerplate removal: nags and prompts go, article paragraphs (even ones that sound
like nags) stay."""

from __future__ import annotations

import pytest

from index.articles import read_article_file
from index.boilerplate import MAX_BOILERPLATE_CHARS, is_boilerplate, strip_boilerplate
from index.chunker import chunk_text


@pytest.mark.parametrize(
    "paragraph",
    [
        "Read also Article reserved for our subscribers Moscow in a strong position against Washington",
        "Read more: the full list of sanctions",
        "See also Our live coverage of the war",
        "Related: NATO summit in Madrid",
        "Also read | Five things to know",
        "You have 49.79% of this article to read. The rest is for subscribers only.",
        "You have 12,5 % of the article left to read",
        "The rest of this article is reserved for subscribers.",
        "This article is reserved for subscribers",
        "Subscribe now to our newsletter for free",
        "Sign up for the Morning Brief newsletter",
        "Already a subscriber? Log in",
        "Advertisement",
        "Story continues below advertisement",
        "Share this article",
        "Share",
        "Share on Facebook",
        "Follow us on Twitter",
        "Click here to subscribe",
        "© 2022 Le Monde",
        "Copyright 2022 The Associated Press. All rights reserved.",
        "(c) 2022 Reuters",
        "All rights reserved.",
        "Photo: Reuters",
        "Image credit: AFP/Getty",
        "  Advertisement  ",
        # German and French, as pages saved from the web print them.
        "Lesen Sie auch: Bahnhof Weilmünster wird barrierefrei",
        "Mehr zum Thema",
        "Anzeige",
        "Artikel teilen:",
        "Lire aussi Loi Egalim : les cantines encore loin de l'objectif",
        "À lire aussi",
        "Il vous reste 62.5% de cet article à lire. La suite est réservée aux abonnés.",
        "Déjà abonné ? Se connecter",
        "Abonnez-vous à partir de 1 € le premier mois. Sans engagement.",
        "Publicité",
        "Tous droits réservés.",
    ],
)
def test_boilerplate_paragraphs(paragraph):
    assert is_boilerplate(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        # Real news paragraphs that start like a nag; the first three used to be dropped.
        "Share prices fell sharply on Monday after the announcement.",
        "Copyright lawsuits against AI firms have multiplied this year.",
        "Follow us closely, the minister told reporters.",
        "Subscribers to the service will pay more from March, the company said.",
        "Readers also wrote in about the closure of the bridge.",
        "Related companies saw their shares rise as well.",
        "Advertisements for the product were banned in 2019.",
        "Photography was not allowed inside the courtroom.",
        "More than 300 people were evacuated.",
        "Anzeige erstattet hat die Stadt bereits im März, sagte der Bürgermeister.",
        "Teilen wollen die Gemeinden die Kosten zu gleichen Teilen.",
        "Publicité mensongère : l'entreprise a été condamnée mardi.",
        "Abonnés depuis vingt ans, les habitants du quartier ont reçu une lettre.",
        "It all depends on Putin",
        "",
        "   ",
    ],
)
def test_article_paragraphs_are_kept(paragraph):
    assert not is_boilerplate(paragraph)


def test_long_paragraphs_are_never_boilerplate():
    long = "Read also " + "the minister said the talks would continue next week. " * 10
    assert len(long) > MAX_BOILERPLATE_CHARS
    assert not is_boilerplate(long)
    assert is_boilerplate(long[:MAX_BOILERPLATE_CHARS])


def test_strip_boilerplate_keeps_order_and_drops_blanks():
    paras = ["First.", "Advertisement", "", "Second.", "Read more: x", "  ", "Third."]
    assert strip_boilerplate(paras) == ["First.", "Second.", "Third."]


def test_seed_article_and_chunks_are_free_of_boilerplate(seed_article, seed):
    raw = seed.path.read_text(encoding="utf-8")
    raw_paragraphs = [p.strip() for p in raw.split("\n\n") if p.strip()]
    dropped = [p for p in raw_paragraphs if is_boilerplate(p)]
    assert dropped == list(seed.boilerplate)  # exactly these three, nothing else
    chunks = chunk_text(seed_article.text)
    assert chunks
    for text in [seed_article.text] + [c.text for c in chunks]:
        for line in seed.boilerplate:
            assert line not in text
        assert "Read also" not in text and "subscribers" not in text and "49.79" not in text


def test_boilerplate_inside_other_formats_is_removed(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Title\n\nFirst paragraph of the story.\n\nRead also: another story\n\n"
        "Second paragraph of the story.\n\nShare this article\n",
        encoding="utf-8",
    )
    a = read_article_file(tmp_path / "a.md", "a.md").articles[0]
    assert a.text == "First paragraph of the story.\n\nSecond paragraph of the story."
    (tmp_path / "b.html").write_text(
        "<html><body><article><p>Only real text here.</p><p>Advertisement</p>"
        "<p>You have 80% of this article to read.</p></article></body></html>",
        encoding="utf-8",
    )
    assert read_article_file(tmp_path / "b.html", "b.html").articles[0].text == "Only real text here."
