"""A cheap guess of the language of written text (screen text), from its script and its function words.

The packaged PP-OCRv4 recogniser reads Chinese and Latin script (see README "Languages"), so the
guess covers what it can read: Han characters -> "zh" (Hangul "ko", kana "ja", Cyrillic "ru",
Arabic "ar" for other recognisers); Latin script -> the language among English, French, Spanish,
German, Italian and Portuguese with the most function words, at least one; otherwise "" (unknown:
a slide title, a figure, a name). Limits: short lines often have no function word; languages
outside the six are "" or mistaken for a neighbour; it reads words, not grammar.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["text_language"]

_FUNCTION_WORDS = {
    "en": "the of and to in is are was for with that this on from by it you we be not or as at an have",
    "fr": "le la les des du de et est un une dans pour que qui sur pas au aux ce cette il elle nous vous avec sont",
    "es": "el la los las del de y es un una en por para que con no se al lo su como está son muy",
    "de": "der die das und ist nicht ein eine mit den dem zu von auf für im sich auch wir sie ich es sind",
    "it": "il lo la gli le di e è un una per che non con del della sono nel alla anche questo",
    "pt": "o a os as do da dos das e é um uma para que não com em no na por são mais",
}
_WORDS = {lang: set(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_SCRIPTS = (("CJK UNIFIED", "zh"), ("HANGUL", "ko"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("CYRILLIC", "ru"),
            ("ARABIC", "ar"))


def text_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language by the guess above; "" when it cannot tell."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return ""
    scripts: dict[str, int] = {}
    for ch in letters:
        if ord(ch) > 0x24F:
            name = unicodedata.name(ch, "")
            code = next((code for key, code in _SCRIPTS if key in name), "")
            if code:
                scripts[code] = scripts.get(code, 0) + 1
    if scripts:
        code, count = max(scripts.items(), key=lambda pair: pair[1])
        if count * 2 >= len(letters) or code in ("ja", "ko"):
            return "ja" if "ja" in scripts else code
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] > 0 and list(hits.values()).count(hits[best]) == 1 else ""
