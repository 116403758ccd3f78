"""Removing what is not the article: subscription nags, "read also" links,
newsletter and sharing prompts, advertisement markers (in English, German and French).

Rules work on whole paragraphs and only on short ones, so that a real paragraph that
mentions "subscribers" is never dropped. Each rule is a pattern that recurs across
news sites, not a string from one article.
"""

from __future__ import annotations

import re

# A boilerplate paragraph is short; real paragraphs past this length are always kept.
MAX_BOILERPLATE_CHARS = 400

_RULES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Links to other articles: "Read also ...", "Read more: ...", "See also ...".
        r"^(read|see) (also|more)\b",
        r"^(also read|related( articles?| stories| coverage)?|more on this|recommended)\s*[:|-]",
        r"^(related|read more|more)\s*$",
        # Paywall notices: "You have 49.79% of this article to read. The rest is for subscribers only."
        r"^you have \d+(?:[.,]\d+)?\s*% of (this|the) article (left )?to read",
        r"^the rest (of this article )?is (reserved )?for subscribers",
        r"^(this article is )?(reserved|available|exclusive) (for|to) (our )?(subscribers|members)",
        r"^(subscribe|sign up|register)( now| today)?\b.{0,120}(newsletter|subscription|subscribe|to continue|to read|for free|inbox)",
        r"^(already a subscriber|become a (member|subscriber))\b",
        # Markers and prompts that sit between paragraphs.
        r"^(advertisement|advert|ad|sponsored( content)?|story continues( below)?( advertisement)?)\s*$",
        # Only prompt-shaped: a bare "share"/"copyright" prefix also dropped news
        # paragraphs such as "Share prices fell 5% on Monday." or "Copyright lawsuits
        # have multiplied." and "Follow us closely, the minister said."
        r"^(share|share this( article| story| page)?|follow us)\s*:?\s*$",
        r"^(share (this( article| story| page)?|on|via)|follow us (on|at)|click here|tap here)\b.{0,80}$",
        r"^(copyright\s*(©|\(c\)|\d{4})|\(c\)\s*\d{4}|©)\s*.{0,120}$",
        r"^all rights reserved\.?$",
        r"^(photo|image|video)( credit)?\s*:\s*.{0,120}$",
        # The same kinds in German and French, for pages saved from the web.
        r"^(lesen sie (auch|mehr|hier)|mehr zum thema|weiterlesen|das könnte sie auch interessieren)\b",
        r"^((à )?lire aussi|voir aussi|à voir aussi|sur le même sujet|pour aller plus loin)\b",
        r"^il vous reste \d+(?:[.,]\d+)?\s*% de cet article à lire",
        r"^la suite (de cet article )?est réservée aux abonnés",
        r"^(cet article est )?réservé aux abonnés\.?$",
        r"^(déjà abonné|bereits abonnent|schon abonniert)\b",
        r"^(abonnez-vous|inscrivez-vous|jetzt abonnieren|jetzt registrieren)\b.{0,120}$",
        r"^(anzeige|werbung|publicité|sponsorisé)\s*$",
        r"^(artikel teilen|teilen|partager( cet article)?)\s*:?\s*$",
        r"^(alle rechte vorbehalten|tous droits réservés)\.?$",
        r"^(foto|bild)\s*:\s*.{0,120}$",
    )
)


def is_boilerplate(paragraph: str) -> bool:
    """True when a whole paragraph is a known kind of non-article text."""
    p = paragraph.strip()
    if not p:
        return False
    if len(p) > MAX_BOILERPLATE_CHARS:
        return False
    return any(rule.search(p) for rule in _RULES)


def strip_boilerplate(paragraphs: list[str]) -> list[str]:
    """The paragraphs that are article text, in order."""
    return [p for p in paragraphs if p.strip() and not is_boilerplate(p)]
