"""Language tags for manifests: RFC 5646 (BCP 47), as HLS ``LANGUAGE`` and DASH ``@lang`` want
them [RFC 8216 §4.3.4.1; ISO/IEC 23009-1 §5.3.3], from what containers carry (ISO 639-2 codes
in ``mdhd``/Matroska tags) or what an uploader typed.

RFC 5646 §2.2.1: use the shortest ISO 639 code — "en", not "eng" — where ISO 639-1 has one.
"""

from __future__ import annotations

import re

# ISO 639-2 (T and B forms) → ISO 639-1, for the languages a catalogue meets most.
_TWO_LETTER = {
    "ara": "ar", "cat": "ca", "ces": "cs", "cze": "cs", "chi": "zh", "zho": "zh", "dan": "da",
    "deu": "de", "ger": "de", "dut": "nl", "nld": "nl", "ell": "el", "gre": "el", "eng": "en",
    "fin": "fi", "fra": "fr", "fre": "fr", "heb": "he", "hin": "hi", "hun": "hu", "ind": "id",
    "ita": "it", "jpn": "ja", "kor": "ko", "may": "ms", "msa": "ms", "nor": "no", "pol": "pl",
    "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tha": "th",
    "tur": "tr", "ukr": "uk", "vie": "vi", "eus": "eu", "baq": "eu", "glg": "gl", "hrv": "hr",
    "srp": "sr", "slk": "sk", "slo": "sk", "slv": "sl", "bul": "bg", "est": "et", "lav": "lv",
    "lit": "lt", "isl": "is", "ice": "is", "gle": "ga", "cym": "cy", "wel": "cy", "fas": "fa",
    "per": "fa", "urd": "ur", "ben": "bn", "tam": "ta", "tel": "te", "swa": "sw", "afr": "af",
}  # fmt: skip
# ISO 639-2/B codes in the table above; MP4 wants the /T form [ISO/IEC 14496-12 §8.4.2.3].
_BIBLIOGRAPHIC = {"chi", "cze", "dut", "fre", "ger", "gre", "rum", "may", "slo", "ice", "wel",
                  "per", "baq"}  # fmt: skip
# RFC 5646 §2.1, simplified: a 2-3 letter primary language, then subtags (script, region, …).
_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}")
_UNDETERMINED = {"und", "mul", "zxx", "mis", ""}


def language_tag(code: str | None) -> str | None:
    """A container's language code as an RFC 5646 tag, or None when it says nothing."""
    if not code:
        return None
    code = code.strip().replace("_", "-")
    primary, _, rest = code.partition("-")
    primary = primary.lower()
    if primary in _UNDETERMINED or not _TAG.fullmatch(code):
        return None
    primary = _TWO_LETTER.get(primary, primary)
    return f"{primary}-{rest}" if rest else primary


# Each language's name in itself (an endonym), for renditions nobody named: RFC 8216
# §4.3.4.1 wants NAME "in that language" when LANGUAGE is present, and DASH players show
# Label the same way. A small table for the languages above, not a dependency: neither babel
# nor langcodes is installed, and a catalogue needs few names; other codes fall back to the
# tag itself, which is what players showed before.
_NAMES = {
    "af": "Afrikaans", "ar": "العربية", "bg": "Български", "bn": "বাংলা", "ca": "Català",
    "cs": "Čeština", "cy": "Cymraeg", "da": "Dansk", "de": "Deutsch", "el": "Ελληνικά",
    "en": "English", "es": "Español", "et": "Eesti", "eu": "Euskara", "fa": "فارسی",
    "fi": "Suomi", "fr": "Français", "ga": "Gaeilge", "gl": "Galego", "he": "עברית",
    "hi": "हिन्दी", "hr": "Hrvatski", "hu": "Magyar", "id": "Bahasa Indonesia",
    "is": "Íslenska", "it": "Italiano", "ja": "日本語", "ko": "한국어", "lt": "Lietuvių",
    "lv": "Latviešu", "ms": "Bahasa Melayu", "nl": "Nederlands", "no": "Norsk", "pl": "Polski",
    "pt": "Português", "ro": "Română", "ru": "Русский", "sk": "Slovenčina",
    "sl": "Slovenščina", "sr": "Српски", "sv": "Svenska", "sw": "Kiswahili", "ta": "தமிழ்",
    "te": "తెలుగు", "th": "ไทย", "tr": "Türkçe", "uk": "Українська", "ur": "اردو",
    "vi": "Tiếng Việt", "zh": "中文",
}  # fmt: skip


def language_name(code: str | None) -> str | None:
    """A readable name for a language code ("en"/"eng" → "English", "pt-BR" → "Português
    (BR)"), the tag itself for languages not in the table, None when the code says nothing."""
    tag = language_tag(code)
    if tag is None:
        return None
    primary, _, rest = tag.partition("-")
    name = _NAMES.get(primary)
    if name is None:
        return tag
    return f"{name} ({rest})" if rest else name


def is_language_tag(value: str) -> bool:
    """Whether an uploader's language is a well-formed (simplified) RFC 5646 tag."""
    return (
        bool(_TAG.fullmatch(value)) and value.split("-", maxsplit=1)[0].lower() not in _UNDETERMINED
    )


def iso639_2(tag: str | None) -> str:
    """The ISO 639-2/T code an MP4 ``mdhd`` box can carry (``und`` when unknown)."""
    if not tag:
        return "und"
    primary = tag.split("-")[0].lower()
    if len(primary) == 3:
        return primary
    for three, two in _TWO_LETTER.items():
        if two == primary and three not in _BIBLIOGRAPHIC:
            return three
    return "und"
