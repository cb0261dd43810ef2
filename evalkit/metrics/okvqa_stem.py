"""OpenFlamingo's stemming of OK-VQA predictions, to match OK-VQA v1.1's stemmed answers.

Per word: a manual table first; else words ending in "ing" get their WordNet verb lemma; else
plural nouns (POS tags NNS/NNPS) are singularised. It needs NLTK with its data (punkt tokenizer,
averaged perceptron tagger, WordNet) and the `inflection` package; none is downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache

from evalkit.errors import EvalkitError

# word -> the form OK-VQA's stemmed answers use, where the automatic rules get it wrong (facts of
# OpenFlamingo's OK-VQA evaluation, written as pairs).
_MANUAL = """
police:police las:las vegas:vegas yes:yes jeans:jean hell's:hell domino's:domino morning:morn clothes:cloth
are:are riding:ride leaves:leaf dangerous:danger clothing:cloth texting:text kiting:kite
firefighters:firefight ties:tie married:married teething:teeth gloves:glove tennis:tennis dining:dine
directions:direct waves:wave christmas:christmas drives:drive pudding:pud coding:code plating:plate
quantas:quanta hornes:horn graves:grave mating:mate paned:pane alertness:alert sunbathing:sunbath
tenning:ten wetness:wet urinating:urine sickness:sick braves:brave firefighting:firefight lenses:lens
reflections:reflect backpackers:backpack eatting:eat designers:design curiousity:curious
playfulness:play blindness:blind hawke:hawk tomatoe:tomato rodeoing:rodeo brightness:bright
circuses:circus skateboarders:skateboard staring:stare electronics:electron electicity:elect
mountainous:mountain socializing:social hamburgers:hamburg caves:cave transitions:transit wading:wade
creame:cream toileting:toilet sautee:saute buildings:build belongings:belong stockings:stock walle:wall
cumulis:cumuli travelers:travel conducter:conduct browsing:brows pooping:poop haircutting:haircut
toppings:top hearding:heard sunblocker:sunblock bases:base markings:mark mopeds:mope
kindergartener:kindergarten pies:pie scrapbooking:scrapbook couponing:coupon meetings:meet
elevators:elev lowes:low men's:men childrens:children shelves:shelve paintings:paint raines:rain
paring:pare expressions:express routes:rout pease:peas vastness:vast awning:awn boy's:boy
drunkenness:drunken teasing:teas conferences:confer ripeness:ripe suspenders:suspend earnings:earn
reporters:report kid's:kid containers:contain corgie:corgi porche:porch microwaves:microwave
batter's:batter sadness:sad apartments:apart oxygenize:oxygen striping:stripe purring:pure
professionals:profession piping:pipe farmer's:farmer potatoe:potato emirates:emir womens:women
veteran's:veteran wilderness:wilder propellers:propel alpes:alp charioteering:chariot swining:swine
illness:ill crepte:crept adhesives:adhesive regent's:regent decorations:decor rabbies:rabbi
overseas:oversea travellers:travel casings:case smugness:smug doves:dove nationals:nation
mustange:mustang ringe:ring gondoliere:gondolier vacationing:vacate reminders:remind baldness:bald
settings:set glaced:glace coniferous:conifer revelations:revel personals:person daughter's:daughter
badness:bad projections:project polarizing:polar vandalizers:vandal minerals:miner protesters:protest
controllers:control weddings:wed sometimes:sometime earing:ear
"""
MANUAL_STEMS = dict(pair.split(":") for pair in _MANUAL.split())

MISSING = ("OpenFlamingo's OK-VQA stemming needs `pip install nltk inflection` and the NLTK data "
           "punkt_tab, averaged_perceptron_tagger_eng and wordnet (python -m nltk.downloader ...) "
           "on a machine with internet, copied into NLTK_DATA")


@lru_cache(maxsize=1)
def _tools():
    try:
        import inflection
        import nltk
        from nltk.corpus.reader import VERB

        lemmatizer = nltk.stem.WordNetLemmatizer()
        nltk.pos_tag(nltk.tokenize.word_tokenize("checking tools"))
        lemmatizer.lemmatize("checking", VERB)
    except (ImportError, LookupError):
        raise EvalkitError(MISSING, field="--metric-variant") from None
    return nltk, inflection, lemmatizer, VERB


def stem_okvqa(text: str) -> str:
    nltk, inflection, lemmatizer, verb = _tools()
    words = []
    for word, tag in nltk.pos_tag(nltk.tokenize.word_tokenize(text)):
        if word in MANUAL_STEMS:
            word = MANUAL_STEMS[word]
        elif word.endswith("ing"):
            word = lemmatizer.lemmatize(word, verb)
        elif tag.startswith("NNS") or tag.startswith("NNPS"):
            word = inflection.singularize(word)
        words.append(word)
    return " ".join(words)
