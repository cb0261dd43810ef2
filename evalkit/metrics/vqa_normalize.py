"""Answer normalisation of the official VQA evaluator (GT-Vision-Lab), rewritten as data + functions,
and of the evaluators derived from it (TextVQA's, VizWiz's).

The tables below are facts of those evaluators: punctuation marks, number words, articles and the
contraction spellings each restores.
"""

from __future__ import annotations

import re

PUNCTUATION = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES = {"a", "an", "the"}

# Contractions written without their apostrophe, mapped to the spelling the evaluator restores.
_CONTRACTION_PAIRS = """
aint ain't|arent aren't|cant can't|couldve could've|couldnt couldn't|couldn'tve couldn't've
couldnt've couldn't've|didnt didn't|doesnt doesn't|dont don't|hadnt hadn't|hadnt've hadn't've
hadn'tve hadn't've|hasnt hasn't|havent haven't|hed he'd|hed've he'd've|he'dve he'd've|hes he's
howd how'd|howll how'll|hows how's|Id've I'd've|I'dve I'd've|Im I'm|Ive I've|isnt isn't|itd it'd
itd've it'd've|it'dve it'd've|itll it'll|let's let's|maam ma'am|mightnt mightn't
mightnt've mightn't've|mightn'tve mightn't've|mightve might've|mustnt mustn't|mustve must've
neednt needn't|notve not've|oclock o'clock|oughtnt oughtn't|ow's'at 'ow's'at|'ows'at 'ow's'at
'ow'sat 'ow's'at|shant shan't|shed've she'd've|she'dve she'd've|she's she's|shouldve should've
shouldnt shouldn't|shouldnt've shouldn't've|shouldn'tve shouldn't've|somebody'd somebodyd
somebodyd've somebody'd've|somebody'dve somebody'd've|somebodyll somebody'll|somebodys somebody's
someoned someone'd|someoned've someone'd've|someone'dve someone'd've|someonell someone'll
someones someone's|somethingd something'd|somethingd've something'd've|something'dve something'd've
somethingll something'll|thats that's|thered there'd|thered've there'd've|there'dve there'd've
therere there're|theres there's|theyd they'd|theyd've they'd've|they'dve they'd've|theyll they'll
theyre they're|theyve they've|twas 'twas|wasnt wasn't|wed've we'd've|we'dve we'd've|weve we've
werent weren't|whatll what'll|whatre what're|whats what's|whatve what've|whens when's|whered where'd
wheres where's|whereve where've|whod who'd|whod've who'd've|who'dve who'd've|wholl who'll|whos who's
whove who've|whyll why'll|whyre why're|whys why's|wont won't|wouldve would've|wouldnt wouldn't
wouldnt've wouldn't've|wouldn'tve wouldn't've|yall y'all|yall'll y'all'll|y'allll y'all'll
yall'd've y'all'd've|y'alld've y'all'd've|y'all'dve y'all'd've|youd you'd|youd've you'd've
you'dve you'd've|youll you'll|youre you're|youve you've
"""
CONTRACTIONS = dict(pair.split(" ") for pair in _CONTRACTION_PAIRS.replace("\n", "|").split("|") if pair)


def _curly(text: str) -> str:
    return text.replace("'", "\u2019")


# The VizWiz evaluator's table holds the same contractions, but writes most apostrophes curly (\u2019),
# in the words it looks for and in the spellings it restores (`dont` -> `don\u2019t`); these keep the
# straight apostrophe. A prediction's straight-apostrophe word such as "he'dve" is then left as it is.
_VIZWIZ_STRAIGHT_KEYS = {"couldn'tve", "hadn'tve"}
_VIZWIZ_STRAIGHT_SPELLINGS = {"ain't", "aren't", "can't", "could've", "couldn't", "we've", "where's", "who've"}
VIZWIZ_CONTRACTIONS = {
    (word if word in _VIZWIZ_STRAIGHT_KEYS else _curly(word)):
        (spelling if spelling in _VIZWIZ_STRAIGHT_SPELLINGS else _curly(spelling))
    for word, spelling in CONTRACTIONS.items()
}

_COMMA_BETWEEN_DIGITS = re.compile(r"(\d)(,)(\d)")
# The evaluator's pattern, kept as written: "(?!<=\d)" is a look-ahead (not a look-behind), so a
# period is removed unless a digit follows it.
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
# The evaluator passes re.UNICODE (32) as the `count` argument of sub(); we keep that limit.
_PERIOD_SUB_COUNT = 32


def clean_whitespace(text: str) -> str:
    """Newlines and tabs become spaces, then the ends are stripped (applied to every answer)."""
    return text.replace("\n", " ").replace("\t", " ").strip()


def strip_punctuation(text: str) -> str:
    """Marks next to a space (or any text with a comma between digits) vanish; others become spaces."""
    out = text
    remove_outright = _COMMA_BETWEEN_DIGITS.search(text) is not None
    for mark in PUNCTUATION:
        if remove_outright or (mark + " " in text or " " + mark in text):
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return _PERIOD.sub("", out, count=_PERIOD_SUB_COUNT)


def normalize_words(text: str, contractions: dict[str, str] = CONTRACTIONS) -> str:
    """Lower-case, number words to digits, drop articles, restore contractions."""
    words = [NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    words = [word for word in words if word not in ARTICLES]
    return " ".join(contractions.get(word, word) for word in words)


def normalize_answer(text: str) -> str:
    """The full normalisation: punctuation, then words."""
    return normalize_words(strip_punctuation(text))


def normalize_vizwiz_answer(text: str) -> str:
    """The VizWiz evaluator's normalisation: VQAv2's, with its own contraction table."""
    return normalize_words(strip_punctuation(text), VIZWIZ_CONTRACTIONS)


def textvqa_word_tokenize(text: str) -> str:
    """TextVQA's (mmf EvalAI answer processor) first step: lower case, drop ',' and '?', split "'s"."""
    return text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()


def normalize_textvqa_answer(text: str) -> str:
    """TextVQA's official processing: its tokenisation, then the VQA punctuation and word rules."""
    return normalize_answer(clean_whitespace(textvqa_word_tokenize(text)))
