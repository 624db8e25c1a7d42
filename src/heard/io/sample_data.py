"""A realistic demo consultation, written in Heard's evaluation layout.

The consultation is fictional: Harbourside Borough Council asks whether the Millbrook
low traffic neighbourhood (LTN), run for eighteen months as a trial, should be made
permanent. Four questions:

- ``q1`` (closed): agree / disagree that the scheme should be made permanent;
- ``q2`` (open): "Please explain why you gave this answer." (follows ``q1``);
- ``q3`` (open): how the trial affected the respondent;
- ``q4`` (open): what should change.

``n_respondents`` is the number of respondents. Every respondent gets exactly one row
per question in ``responses.csv`` (so it holds ``4 * n_respondents`` rows, grouped by
question), and all of a respondent's rows share its ``response_id`` and its attribute
columns. Unanswered questions are rows with empty text.

Answers are composed from per-theme pools of argument fragments with openers, hedges,
connectors, personal details, closers, typos and junk, and two organised campaigns copy
form letters with personal edits. The gold files record what was actually written:

- ``gold_themes.csv``: the themes whose fragments were written into each open answer;
- ``gold_stance.csv``: the respondent's position (``agree`` / ``disagree``) when the answer
  states it (a stance opener or a theme of that side), else ``unclear``;
- ``gold_evidence_rich.csv``: ``YES`` exactly when an evidence fragment was inserted (a
  figure, a named source or a first-hand account with specifics). Other fragments never
  contain digits;
- ``gold_campaigns.csv``: one row per campaign answer (response and question), with its campaign.

Generation streams: one respondent at a time is built, its rows go to per-question part
files, and the parts are joined at the end. Memory stays flat and output is the same
bytes for the same ``n_respondents``, ``seed`` and options.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

_T = TypeVar("_T")

# --------------------------------------------------------------------------------------
# The consultation
# --------------------------------------------------------------------------------------

TITLE = "Millbrook low traffic neighbourhood: should the trial be made permanent?"

CLOSED_OPTIONS: tuple[str, ...] = (
    "Strongly agree",
    "Agree",
    "Neither agree nor disagree",
    "Disagree",
    "Strongly disagree",
    "Don't know",
)

QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "q1",
        "The Millbrook low traffic neighbourhood has run for eighteen months as a trial under "
        "an experimental traffic order. To what extent do you agree or disagree that it "
        "should be made permanent?",
    ),
    ("q2", "Please explain why you gave this answer."),
    ("q3", "How has the trial affected you, your household or your organisation?"),
    (
        "q4",
        "Is there anything we could change to improve the scheme, for example exemptions, "
        "the location of the traffic filters, or the hours of the Ashgrove Road school street?",
    ),
)
OPEN_QUESTIONS: tuple[str, ...] = ("q2", "q3", "q4")

# Respondent attribute columns, in order (header text as a survey export would have it).
COL_TYPE = "Are you responding as an individual or on behalf of an organisation?"
COL_ORG = "Organisation name"
COL_WARD = "Which ward do you live in?"
COL_WHERE = "Where do you live in relation to the scheme?"
COL_AGE = "Age band"
COL_BADGE = "Do you or anyone in your household hold a Blue Badge?"
ATTRIBUTE_COLUMNS: tuple[str, ...] = (COL_TYPE, COL_ORG, COL_WARD, COL_WHERE, COL_AGE, COL_BADGE)

AGREE, DISAGREE, UNCLEAR = "agree", "disagree", "unclear"
MIXED = "mixed"  # a respondent who weighs both sides; their answers are "unclear"


@dataclass(frozen=True)
class Theme:
    """One codebook theme with the fragments the generator writes for it."""

    key: str
    label: str
    description: str
    position: str  # "Agreement" | "Disagreement" | "Neutral"
    fragments: tuple[str, ...]
    short: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    single: bool = False  # fragments may contradict each other: write one only
    exclusive: bool = False  # never combined with other themes in one answer
    side: str | None = field(init=False, default=None)  # AGREE, DISAGREE or None

    def __post_init__(self) -> None:
        side = {"Agreement": AGREE, "Disagreement": DISAGREE}.get(self.position)
        object.__setattr__(self, "side", side)


T = Theme  # short alias for the tables below

THEMES: dict[str, tuple[Theme, ...]] = {
    "q2": (
        T(
            "q2-safety",
            "Safer streets for children and pedestrians",
            "Residential streets feel safer, especially for children walking to school, "
            "older people and anyone crossing the road.",
            "Agreement",
            (
                "The streets are so much safer now, especially for the children walking to "
                "Ashgrove Primary.",
                "Before the trial cars used to race down {street} and I was scared every time "
                "my kids crossed.",
                "Older neighbours tell me they feel safe crossing the road for the first time "
                "in years.",
                "Speeding through the residential streets has pretty much stopped.",
                "My children can finally walk to school on their own without me worrying about "
                "speeding drivers.",
                "There are far fewer near misses at the corner of {street} than there used to be.",
                "It feels like the streets belong to people again rather than to through traffic.",
            ),
            ("Safer for kids.", "Much safer streets.", "Safer walk to school."),
            (
                "The council's own monitoring report shows reported collisions inside the area "
                "fell from {coll_a} to {coll_b} over the trial.",
                "I counted cars passing my house on {street} before and during the trial: at "
                "rush hour it went from around {cnt_hi} an hour to under {cnt_lo}.",
            ),
        ),
        T(
            "q2-air",
            "Cleaner air and less noise",
            "Less traffic means cleaner air and quieter streets, at home and outside schools.",
            "Agreement",
            (
                "The air feels cleaner and it's so much quieter at night.",
                "We can open our windows again without the constant noise of engines.",
                "Cleaner air matters for everyone's health, children's most of all.",
                "There is far less pollution right outside the school gates.",
                "The noise from idling traffic used to be unbearable and now it has gone.",
                "I can actually hear birds in the morning now.",
            ),
            ("Cleaner air.", "Much quieter.", "Less pollution."),
            (
                "Diffusion tube readings published by the council show nitrogen dioxide on "
                "Victoria Street down from {no2_a} to {no2_b} micrograms per cubic metre.",
                "My daughter has asthma and used her inhaler {n} times a week before the trial; "
                "her GP has since halved her medication.",
            ),
        ),
        T(
            "q2-active",
            "More walking and cycling",
            "The quieter streets have made walking, cycling and scooting a real option.",
            "Agreement",
            (
                "I now cycle to work because the back streets feel safe enough to ride on.",
                "We walk to the shops far more than we used to.",
                "It has made cycling a realistic option for my whole family.",
                "You see far more people on bikes and on foot than before.",
                "Lots of kids now scoot to school instead of being driven.",
            ),
            ("More people walking and cycling.", "I cycle now.", "Great for cycling."),
            (
                "I log my journeys and last year I made {cnt_lo} trips by bike, compared with a "
                "handful the year before.",
                "Harbourside Cycling Campaign's count at the Mill Lane filter recorded "
                "{cnt_lo} cyclists on a weekday morning, up from about {n} before the trial.",
            ),
        ),
        T(
            "q2-ratrun",
            "Ends rat-running through residential streets",
            "Through traffic no longer uses residential streets as a shortcut.",
            "Agreement",
            (
                "It has stopped drivers using our road as a shortcut to avoid the lights on "
                "Station Road.",
                "Sat navs used to send queues of traffic down {street}, and that has "
                "finally ended.",
                "Residential streets were never built for the volume of through traffic they "
                "were taking.",
                "The rat-running at rush hour was dangerous and it has gone.",
            ),
            ("No more rat-running.", "No more shortcuts through our street."),
            (
                "Council traffic counts show daily vehicles on Church Lane dropped from about "
                "{cnt_hi} to {cnt_lo}.",
            ),
        ),
        T(
            "q2-community",
            "Quieter streets and a stronger community",
            "Neighbours meet, children play out and the area feels like a community again.",
            "Agreement",
            (
                "Neighbours actually stop and talk in the street now.",
                "The children play out on the street in summer, which never happened before.",
                "It has brought the community together; we even had a street party.",
                "The area feels like a village again.",
            ),
            ("Lovely community feel.", "Kids play out now."),
            (
                "Our street's group chat has grown from {n} to {cnt_lo} households since the "
                "street party we held during the trial.",
            ),
        ),
        T(
            "q2-displace",
            "Traffic and pollution pushed onto boundary roads",
            "The scheme moves traffic onto the main roads around the area, where queues and "
            "pollution are worse.",
            "Disagreement",
            (
                "All the traffic has simply been pushed onto Station Road and Harbour Road, "
                "which are now gridlocked.",
                "The scheme hasn't reduced traffic, it has just moved it onto the main roads "
                "where other people live.",
                "Pollution on the boundary roads must be far worse now, with queues all day.",
                "People on London Road are paying the price for quieter streets elsewhere.",
                "The queues at the Harbour Road junction are ridiculous at rush hour.",
                "Buses are stuck in the congestion on the main road.",
            ),
            (
                "Gridlock on the main roads.",
                "Just moves traffic elsewhere.",
                "Boundary roads are jammed.",
            ),
            (
                "My bus journey on the number {route} along Station Road went from about {min_a} "
                "to {min_b} minutes; I have timed it for months.",
                "The council's own data shows traffic on Harbour Road up by {pct} per cent since "
                "the filters went in.",
            ),
        ),
        T(
            "q2-access",
            "Longer journeys and harder access for residents",
            "Detours make journeys longer for residents, carers, visitors, deliveries and "
            "people who depend on cars or taxis.",
            "Disagreement",
            (
                "A journey that took a few minutes now means a long detour round the whole area.",
                "I can't get from one side of Millbrook to the other without going out onto the "
                "main road.",
                "Visitors, carers and delivery drivers are constantly getting lost and "
                "turning round.",
                "For people who have to drive, whether for work or caring, this makes life much "
                "harder.",
                "Elderly and disabled residents rely on cars and taxis and are being penalised.",
                "Taxis charge more now because of the detours.",
            ),
            ("Longer journeys.", "Ridiculous detours.", "Hard for carers."),
            (
                "I'm a district nurse and my rounds inside the area now take around {min_a} "
                "minutes longer every day because of the detours.",
                "My taxi fare to the hospital has gone from £{gbp_a} to £{gbp_b} because the "
                "driver has to go the long way round.",
            ),
        ),
        T(
            "q2-emergency",
            "Delays for emergency services",
            "Filters and congestion are thought to delay ambulances, fire engines and police.",
            "Disagreement",
            (
                "Emergency vehicles are being delayed by the filters and the congestion on the "
                "main roads.",
                "I worry that an ambulance won't reach us in time.",
                "Fire engines should never have to find a way round a planter.",
            ),
            ("Dangerous for ambulances.", "Delays emergency services."),
            (
                "When my father collapsed last winter the ambulance took {min_b} minutes to "
                "reach us on {street}, and the crew said the planters had added to it.",
            ),
        ),
        T(
            "q2-business",
            "Harm to local shops and businesses",
            "Fewer customers and slower deliveries and trades hurt local businesses.",
            "Disagreement",
            (
                "Footfall on the high street has dropped and small shops are struggling.",
                "Tradespeople and deliveries waste time and fuel on every job in the area.",
                "Customers from outside Millbrook no longer bother coming to our shops.",
                "Local businesses were already struggling and this is the last straw.",
            ),
            ("Killing local shops.", "Bad for business."),
            (
                "Our café's takings are down {pct}% on the same months before the trial.",
                "As a plumber I now add roughly £{gbp_a} to quotes in the area to cover the "
                "extra time.",
            ),
        ),
        T(
            "q2-process",
            "Unfair process and fines",
            "The trial was imposed without real consultation, and the camera fines feel like "
            "revenue raising.",
            "Disagreement",
            (
                "It feels like the decision was made before anyone asked us.",
                "The trial was imposed without proper consultation with residents.",
                "The cameras are just a money-making scheme for the council.",
                "Nobody I know was told about the trial before the planters appeared.",
                "The fines are catching out visitors and older drivers who don't understand "
                "the signs.",
            ),
            ("Just a cash cow.", "We were never consulted.", "Stop fining people."),
            (
                "A freedom of information request shows the filter cameras issued {pcn} penalty "
                "charge notices in the first six months.",
            ),
        ),
        T(
            "q2-exemptions",
            "Exemptions needed",
            "Blue Badge holders, carers, residents or taxis should be allowed through the filters.",
            "Neutral",
            (
                "Blue Badge holders should be allowed through the filters.",
                "Carers and care workers need an exemption, as they lose time on every visit.",
                "Residents should be given permits to drive through their own area.",
                "There should be exemptions for taxis taking people to medical appointments.",
            ),
            ("Exempt Blue Badge holders.", "Residents need permits."),
        ),
        T(
            "q2-evidence",
            "Wants more evidence before deciding",
            "The decision should wait for monitoring data or a longer trial.",
            "Neutral",
            (
                "I'd like to see the monitoring data before a final decision is made.",
                "It's too early to judge, because the trial period included road works on "
                "Station Road.",
                "Maybe extend the trial and publish proper before and after figures.",
                "I'd support it if the council could show the main roads haven't got worse.",
            ),
            ("Publish the data first.", "Too early to tell."),
        ),
    ),
    "q3": (
        T(
            "q3-journeys",
            "Longer and costlier journeys",
            "Car journeys, the school run and visits take longer and cost more.",
            "Disagreement",
            (
                "My commute takes much longer now because I have to go round the outside of "
                "the area.",
                "The school run has become a nightmare of detours.",
                "I spend more on fuel every week.",
                "Visiting my mum on the other side of Millbrook now means sitting in traffic on "
                "Station Road.",
                "We've had to change when we leave the house to avoid the queues.",
            ),
            ("Longer journeys.", "More time in traffic."),
            (
                "My commute has gone from {min_a} to {min_b} minutes each way, which I have "
                "recorded on my phone since the start.",
            ),
        ),
        T(
            "q3-active",
            "Walking and cycling more",
            "The household walks, cycles or scoots more, and some have given up a car.",
            "Agreement",
            (
                "We've sold our second car because we walk and cycle most places now.",
                "My children now walk to school with their friends.",
                "I've started cycling to the station.",
                "I take the long way home on foot now because it's pleasant.",
            ),
            ("We walk more.", "Kids cycle to school now."),
            (
                "We sold our second car in {year} and worked out that we save about "
                "£{gbp_b} a year.",
            ),
        ),
        T(
            "q3-quieter",
            "Quieter, healthier home life",
            "Less noise and fumes at home; people sleep better and use their front gardens.",
            "Agreement",
            (
                "Our street is quieter and we sleep better.",
                "We sit out in the front garden now.",
                "There is much less noise and fumes outside the house.",
                "It's a nicer place to live, simple as that.",
            ),
            ("Quieter at home.", "We sleep better."),
        ),
        T(
            "q3-disability",
            "Harder for disabled people and carers",
            "Disabled people, carers and those relying on taxis or community transport are "
            "worse off.",
            "Disagreement",
            (
                "Disabled people like me depend on cars and taxis, and getting anywhere is harder.",
                "My carer loses time on every visit going round the filters.",
                "Community transport can't get to my door as easily as before.",
                "I feel cut off from friends on the other side of the area.",
            ),
            ("Harder for disabled people.", "My carer is always late now."),
            (
                "I use a wheelchair and my community transport pick-up window has gone from "
                "{min_a} to {min_b} minutes since the trial started.",
            ),
        ),
        T(
            "q3-business",
            "Effect on trade and deliveries",
            "Businesses report fewer customers and slower deliveries and jobs.",
            "Disagreement",
            (
                "Fewer customers come in from outside the area.",
                "Our deliveries arrive late because drivers can't find a way in.",
                "Our vans waste time on every job inside the area.",
            ),
            ("Fewer customers.", "Deliveries are late."),
            ("Our delivery logs show an extra {min_a} minutes per drop inside the area.",),
        ),
        T(
            "q3-boundary",
            "More traffic outside homes on boundary roads",
            "People living on the main roads around the area have more traffic, noise and "
            "fumes outside their homes.",
            "Disagreement",
            (
                "I live on Station Road and the traffic outside my house is now constant.",
                "We live on the boundary and our road has taken all the displaced traffic.",
                "The fumes from the queue outside our house mean we keep the windows shut.",
            ),
            ("More traffic outside my house.", "Our road is now a car park."),
            (
                "I bought an air monitor and the particulate readings outside my house on "
                "Harbour Road roughly doubled, peaking at {n} at rush hour.",
            ),
        ),
        T(
            "q3-none",
            "Little or no effect",
            "The trial made little difference to the respondent.",
            "Neutral",
            (
                "It hasn't really affected me either way.",
                "I don't drive so it makes little difference to me.",
                "I barely noticed the change, to be honest.",
                "Not much impact on my household.",
            ),
            ("No real impact.", "Hardly any."),
            exclusive=True,
        ),
    ),
    "q4": (
        T(
            "q4-exemptions",
            "Exemptions and permits",
            "Exempt Blue Badge holders, carers, taxis or residents at the camera filters.",
            "Neutral",
            (
                "Give Blue Badge holders an exemption at the camera filters.",
                "Let carers and care agencies register their vehicles for an exemption.",
                "A residents' permit would solve most of the problems.",
                "Taxis taking disabled passengers should be exempt.",
            ),
            ("Exemptions for Blue Badge holders.", "Resident permits."),
            (
                "Our care agency makes about {cnt_lo} visits a week inside the area and each one "
                "now takes {min_a} minutes longer.",
            ),
        ),
        T(
            "q4-filters",
            "Move or change the traffic filters",
            "Change the design: camera filters instead of planters, move a filter, clearer signs.",
            "Neutral",
            (
                "Replace the planters with camera filters so emergency vehicles can get through.",
                "Move the Church Lane filter to the other end of the road so residents can "
                "get out.",
                "Open the Elm Road filter outside rush hour.",
                "The signs at the filters need to be much clearer for visitors.",
            ),
            ("Clearer signs.", "Move the Church Lane filter."),
        ),
        T(
            "q4-schoolstreet",
            "School street hours",
            "Change the hours of the Ashgrove Road school street, longer or shorter.",
            "Neutral",
            (
                "The Ashgrove Road school street should also cover after-school clubs.",
                "Extend the school street hours, because pick-up is still chaotic.",
                "The school street times are too long for residents who need to get to work.",
            ),
            ("Extend the school street.", "Shorter school street hours."),
            single=True,
        ),
        T(
            "q4-buses",
            "Better buses and bus priority",
            "More frequent buses and bus priority on the boundary roads.",
            "Neutral",
            (
                "Put in a bus lane on Station Road so buses aren't stuck in the queues.",
                "More frequent buses would help people leave the car at home.",
                "Sort out the bus stops on Harbour Road.",
            ),
            ("Better buses.", "Bus lanes please."),
            (
                "In my own log of {n} journeys last month, the number {route} bus was on average "
                "{min_a} minutes late.",
            ),
        ),
        T(
            "q4-streets",
            "Cycle parking, crossings, greening and extension",
            "Build on the scheme: cycle parking, crossings, trees and benches, more areas.",
            "Agreement",
            (
                "Add secure cycle parking and bike hangars on residential streets.",
                "Plant trees and add benches at the filters to make them feel like small squares.",
                "Put a zebra crossing on Harbour Road so people can walk in and out of the area "
                "safely.",
                "Extend the scheme to the streets north of the railway.",
            ),
            ("More bike hangars.", "More trees and benches.", "Roll it out to other areas."),
        ),
        T(
            "q4-monitor",
            "Monitor and publish the data",
            "Keep monitoring traffic and air quality, including boundary roads, and publish it.",
            "Neutral",
            (
                "Publish air quality and traffic data for the boundary roads every month.",
                "Keep monitoring and be willing to change things if the main roads get worse.",
                "Put air quality monitors on Station Road as well as inside the area.",
            ),
            ("Publish the data.", "Keep monitoring."),
            (
                "Readings from my own monitor on Station Road show {n} hours a week above the "
                "World Health Organization guideline.",
            ),
        ),
        T(
            "q4-remove",
            "Remove the scheme and listen to residents",
            "Scrap the filters, spend the money elsewhere and consult residents properly.",
            "Disagreement",
            (
                "Remove the filters and spend the money on fixing the potholes.",
                "Scrap the whole thing and start again with a proper consultation.",
                "Listen to the people who actually live here rather than pressure groups.",
                "Hold public meetings instead of an online survey most older residents can't use.",
            ),
            ("Scrap it.", "Remove the planters.", "Listen to residents."),
        ),
    ),
}
del T

THEME_BY_KEY: dict[str, Theme] = {t.key: t for ts in THEMES.values() for t in ts}

# Openers that state a position, per question and stance.
OPENERS: dict[str, dict[str, tuple[str, ...]]] = {
    "q2": {
        AGREE: (
            "I fully support making it permanent.",
            "Yes, keep it.",
            "I strongly agree.",
            "Absolutely, keep the scheme.",
            "I was sceptical at first but I've come round to it.",
            "Please make it permanent.",
            "Keep it!",
            "Agree.",
        ),
        DISAGREE: (
            "I strongly disagree.",
            "No, it should be scrapped.",
            "This scheme has been a disaster.",
            "I am completely against it.",
            "Get rid of it.",
            "I was open-minded at the start but it hasn't worked.",
            "Disagree.",
        ),
        MIXED: (
            "I can see both sides.",
            "I have mixed feelings about it.",
            "Some parts work, some don't.",
            "I'm honestly not sure yet.",
        ),
    },
    "q3": {
        AGREE: ("It has been really positive for us.", "Overwhelmingly positive."),
        DISAGREE: ("It has made life harder.", "Negatively, in every way."),
        MIXED: ("It's a mixed picture for us.",),
    },
    "q4": {
        AGREE: ("It works well, but a few tweaks would help.", "Keep it, and improve it."),
        DISAGREE: ("If the scheme has to stay, a lot must change.",),
        MIXED: ("A few changes would make it work for everyone.",),
    },
}
CLOSERS: dict[str, tuple[str, ...]] = {
    AGREE: (
        "Please make it permanent.",
        "Thank you for doing this.",
        "Well done to the council.",
        "Don't give in to the noisy minority.",
    ),
    DISAGREE: (
        "Scrap it now.",
        "Listen to residents.",
        "Give us our roads back.",
        "Residents will remember this at the next election.",
    ),
    MIXED: ("Please get the details right.", "I hope you take all views into account."),
}
HEDGES: tuple[str, ...] = (
    "I think ",
    "I feel ",
    "In my view, ",
    "To be honest, ",
    "Honestly, ",
    "I really believe ",
    "It seems to me that ",
    "Frankly, ",
    "I'd say ",
)
# Suggestions are mostly imperative, so they take their own softeners.
SUGGESTION_HEDGES: tuple[str, ...] = ("My suggestion: ", "One idea: ", "For what it's worth, ")
CONNECTORS: tuple[str, ...] = (
    "Also, ",
    "On top of that, ",
    "And ",
    "Plus ",
    "What's more, ",
    "Another thing: ",
    "Besides, ",
    "More importantly, ",
)
PERSONAL: tuple[str, ...] = (
    "I've lived on {street} for most of my life.",
    "We have two young children.",
    "I live on {street} with my family.",
    "I work from home most days.",
    "I'm retired and walk everywhere locally.",
    "I drive for work.",
    "We moved to Millbrook a few years ago.",
    "I'm a parent at Ashgrove Primary.",
    "I look after my elderly mother, who lives nearby.",
    "I've lived in the area since I was a child.",
)
JUNK: tuple[str, ...] = (
    "n/a",
    "N/A",
    "na",
    "see above",
    "As above.",
    "asdf",
    "asdfgh",
    "-",
    ".",
    "no comment",
    "Nothing to add",
    "nothing",
    "x",
    "?",
    "\U0001f44d",
    "\U0001f697\U0001f697\U0001f697",
    "\U0001f621",
    "\U0001f644\U0001f644",
    "test",
    "...",
    "same as before",
)
MISSPELLINGS: dict[str, str] = {
    "definitely": "definately",
    "their": "there",
    "council": "counsil",
    "traffic": "trafic",
    "residents": "residants",
    "because": "becuase",
    "really": "realy",
    "environment": "enviroment",
    "neighbours": "nieghbours",
    "which": "wich",
    "whether": "wether",
    "it's": "its",
    "pollution": "polution",
}

# Places and people.
STREETS_INSIDE: tuple[str, ...] = (
    "Elm Road",
    "Church Lane",
    "Victoria Street",
    "Ashgrove Road",
    "Orchard Close",
    "Mill Lane",
    "Beech Avenue",
    "Grove Terrace",
    "Albert Road",
    "Kingsley Road",
    "Wharf Street",
)
STREETS_BOUNDARY: tuple[str, ...] = ("Station Road", "Harbour Road", "London Road")
STREETS_ELSEWHERE: tuple[str, ...] = (
    "Northgate Road",
    "Queens Drive",
    "Park Avenue",
    "Fore Street",
)
WARDS: tuple[str, ...] = ("Millbrook", "Ashgrove", "Harbour", "Eastfield", "Northgate", "St Anne's")
WHERE: tuple[str, ...] = (
    "Inside the low traffic neighbourhood",
    "On a boundary road",
    "Elsewhere in Harbourside",
    "Outside Harbourside",
)
AGES: tuple[str, ...] = (
    "Under 18",
    "18 to 24",
    "25 to 34",
    "35 to 44",
    "45 to 54",
    "55 to 64",
    "65 to 74",
    "75 or over",
    "Prefer not to say",
)
AGE_WEIGHTS: tuple[float, ...] = (1, 6, 16, 21, 19, 15, 12, 6, 4)
FIRST_NAMES: tuple[str, ...] = (
    "Sarah", "James", "Priya", "Tom", "Aisha", "David", "Helen", "Mohammed", "Claire",
    "Gareth", "Joanne", "Kwame", "Emma", "Peter", "Fatima", "Ian", "Rachel", "Oliver",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Patel", "Jones", "Okafor", "Williams", "Brown", "Khan", "Taylor", "Evans",
    "Murphy", "Hughes", "Ahmed", "Clarke", "Walsh", "Wright", "Begum", "Green", "Lewis",
)  # fmt: skip

# Organisation name patterns and how often each kind agrees with the proposal.
ORG_KINDS: tuple[tuple[str, float], ...] = (
    ("{place} Residents' Association", 0.5),
    ("{place} Traders' Association", 0.15),
    ("Harbourside Cycling Campaign", 0.95),
    ("Ashgrove Primary School PTA", 0.9),
    ("Harbourside Chamber of Commerce", 0.15),
    ("Harbourside Taxi and Private Hire Association", 0.05),
    ("Harbourside Disability Forum", 0.3),
    ("{place} Clean Air Group", 0.95),
    ("St Anne's Church", 0.6),
    ("Harbourside Bus Users Group", 0.4),
    ("{place} Home Care Ltd", 0.2),
    ("{surname} and Sons Builders", 0.1),
)
ORG_PLACES: tuple[str, ...] = ("Millbrook", "Ashgrove", "Eastfield", "Northgate", "Harbourside")
# Organisations state their position in q2; their other answers open neutrally.
ORG_FOLLOW_OPENERS: dict[str, tuple[str, ...]] = {
    "q3": ("{org} has seen the effects at first hand.", "Speaking for {org}:"),
    "q4": ("{org} asks the council to consider the following.", "Speaking for {org}:"),
}
ORG_OPENERS: dict[str, tuple[str, ...]] = {
    AGREE: (
        "{org} supports making the scheme permanent.",
        "{org} welcomes the council's proposal.",
        "We write on behalf of {org}, which backs the scheme.",
    ),
    DISAGREE: (
        "{org} objects to the proposal.",
        "{org} cannot support making the scheme permanent.",
        "We write on behalf of {org}, whose members oppose the scheme.",
    ),
    MIXED: (
        "{org} has a range of views among its members.",
        "{org} sees benefits and real problems in the scheme.",
    ),
}

# Stance chances per "where do you live" answer: (agree, disagree); the rest is mixed.
STANCE_BY_WHERE: dict[str, tuple[float, float]] = {
    WHERE[0]: (0.60, 0.30),
    WHERE[1]: (0.25, 0.62),
    WHERE[2]: (0.45, 0.42),
    WHERE[3]: (0.35, 0.50),
}
CLOSED_BY_STANCE: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    AGREE: (("Strongly agree", "Agree", "Neither agree nor disagree"), (0.55, 0.40, 0.05)),
    DISAGREE: (("Strongly disagree", "Disagree", "Neither agree nor disagree"), (0.6, 0.35, 0.05)),
    MIXED: (
        ("Neither agree nor disagree", "Agree", "Disagree", "Don't know"),
        (0.5, 0.2, 0.2, 0.1),
    ),
}


@dataclass(frozen=True)
class Campaign:
    """An organised campaign: a form letter per question, with themes per sentence."""

    key: str
    stance: str
    share: float  # chance that an individual respondent is a member
    letters: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]
    swaps: tuple[tuple[str, str], ...]  # wording members commonly change


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "millbrook-says-no",
        DISAGREE,
        0.10,
        {
            "q2": (
                ("I am writing to object to the Millbrook low traffic neighbourhood being made "
                 "permanent.", ()),
                ("The trial has pushed traffic onto Station Road and Harbour Road, where queues "
                 "and pollution are now far worse.", ("q2-displace",)),
                ("Residents, carers and disabled people face long detours for even the shortest "
                 "journeys.", ("q2-access",)),
                ("Ambulances and fire engines are being delayed by the filters.",
                 ("q2-emergency",)),
                ("The scheme was imposed without proper consultation and the cameras are simply "
                 "raising money from fines.", ("q2-process",)),
                ("I urge the council to remove the filters and restore access for everyone.", ()),
            ),
            "q4": (
                ("Scrap the scheme and spend the money on fixing our roads.", ("q4-remove",)),
            ),
        },
        (
            ("far worse", "much worse"),
            ("I urge the council", "I ask the council"),
            ("object to", "oppose"),
            ("long detours", "huge detours"),
            ("simply raising money", "just raising money"),
        ),
    ),
    Campaign(
        "clean-air-ashgrove",
        AGREE,
        0.04,
        {
            "q2": (
                ("I support making the Millbrook low traffic neighbourhood permanent.", ()),
                ("Children walking to Ashgrove Primary deserve clean air and safe streets.",
                 ("q2-safety", "q2-air")),
                ("Since the trial began, far more families walk and cycle to school.",
                 ("q2-active",)),
                ("Please do not give in to pressure to reopen our streets to through traffic.",
                 ("q2-ratrun",)),
            ),
            "q4": (
                ("Please extend the school street and add more cycle parking.",
                 ("q4-schoolstreet", "q4-streets")),
            ),
        },
        (
            ("deserve", "need"),
            ("far more", "many more"),
            ("Please do not give in", "Don't give in"),
        ),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class SampleOptions:
    """Rates that shape the sample; the defaults give a typical consultation."""

    organisation_share: float = 0.03
    empty_rate: tuple[float, float, float] = (0.03, 0.12, 0.25)  # q2, q3, q4
    junk_rate: tuple[float, float, float] = (0.03, 0.04, 0.05)
    closed_blank_rate: float = 0.01
    evidence_rate: float = 0.05  # individuals; organisations use organisation_evidence_rate
    organisation_evidence_rate: float = 0.35
    short_rate: float = 0.2
    typo_rate: float = 0.12
    campaigns: tuple[Campaign, ...] = CAMPAIGNS


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Answer:
    """One row of responses.csv, with what the generator knows about it."""

    question_id: str
    text: str
    themes: tuple[str, ...] = ()
    stance: str = UNCLEAR
    evidence: bool = False
    kind: str = "answer"  # "answer" | "closed" | "empty" | "junk" | "campaign"


@dataclass(slots=True)
class Respondent:
    """One respondent: its id, attribute values (in ATTRIBUTE_COLUMNS order) and answers."""

    response_id: str
    attributes: tuple[str, ...]
    answers: list[Answer]
    campaign: str | None = None


@dataclass
class SampleSummary:
    """What was written."""

    out_dir: Path
    respondents: int
    seed: int
    rows: int
    rows_per_question: dict[str, int]
    empty: int
    junk: int
    evidence_rich: int
    campaign_members: dict[str, int]
    gold_theme_rows: int
    files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------

_NO_LOWER = frozenset({"I", "I'd", "I'm", "I've", "I'll"})
# First words of fragments that are proper nouns and keep their capital.
_PROPER = frozenset(
    {name.split(" ")[0] for name in STREETS_INSIDE + STREETS_BOUNDARY + STREETS_ELSEWHERE}
    | {"Millbrook", "Ashgrove", "Harbourside", "Blue"}
)


# Statements about oneself, which read oddly after "I think".
_PERSONAL_START = frozenset({"I", "I'd", "I'm", "I've", "We", "We've", "My", "Our"})


def _lower_first(sentence: str) -> str:
    """Lower-case the first letter unless the first word is 'I…' or a proper noun."""
    first = sentence.split(" ", 1)[0]
    if first in _NO_LOWER or first in _PROPER:
        return sentence
    return sentence[0].lower() + sentence[1:]


# Small, fast draws from one random.Random stream (the stdlib helpers are slower).
def _choice(rng: random.Random, seq: Sequence[_T]) -> _T:
    return seq[int(rng.random() * len(seq))]


def _weighted(rng: random.Random, seq: Sequence[_T], weights: Sequence[float]) -> _T:
    r = rng.random() * sum(weights)
    for item, weight in zip(seq, weights, strict=True):
        r -= weight
        if r < 0:
            return item
    return seq[-1]


def _randint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _numbers(rng: random.Random) -> dict[str, object]:
    """Plausible figures for evidence fragments (only evidence fragments hold digits)."""
    cnt_hi = rng.randrange(900, 4200, 10)
    min_a = rng.randint(8, 25)
    gbp_a = rng.randint(6, 30)
    coll_a = rng.randint(14, 31)
    no2_a = rng.randint(34, 49)
    return {
        "cnt_hi": f"{cnt_hi:,}",
        "cnt_lo": rng.randint(40, cnt_hi // 3),
        "min_a": min_a,
        "min_b": min_a + rng.randint(5, 25),
        "pct": rng.randint(6, 45),
        "gbp_a": gbp_a,
        "gbp_b": gbp_a + rng.randint(3, 400),
        "route": _choice(rng, ("12", "47", "86", "104", "N7")),
        "year": rng.randint(2021, 2024),
        "no2_a": no2_a,
        "no2_b": no2_a - rng.randint(5, 15),
        "coll_a": coll_a,
        "coll_b": coll_a - rng.randint(5, 12),
        "n": rng.randint(3, 40),
        "pcn": f"{rng.randrange(4000, 60000, 10):,}",
    }


def _fill(template: str, rng: random.Random, street: str, numbers: bool = False) -> str:
    if "{" not in template:
        return template
    values: dict[str, object] = _numbers(rng) if numbers else {}
    values["street"] = street
    return template.format(**values)


def _typo(rng: random.Random, text: str) -> str:
    """One plausible typing error: a common misspelling, or a swapped, lost or doubled letter."""
    words = text.split(" ")
    i = rng.randrange(len(words))
    word = words[i]
    core = word.rstrip(".,!?;:")
    tail = word[len(core) :]
    lower = core.lower()
    if lower in MISSPELLINGS:
        wrong = MISSPELLINGS[lower]
        core = wrong if core == lower else wrong.capitalize()
    elif len(core) > 3 and core.isalpha():
        j = rng.randrange(1, len(core) - 1)
        op = rng.randrange(3)
        if op == 0:
            core = core[:j] + core[j + 1] + core[j] + core[j + 2 :]
        elif op == 1:
            core = core[:j] + core[j + 1 :]
        else:
            core = core[: j + 1] + core[j] + core[j + 1 :]
    else:
        return text
    words[i] = core + tail
    return " ".join(words)


def _roughen(rng: random.Random, text: str, typo_rate: float) -> str:
    """Typos, lost capitals and missing full stops, at small rates."""
    if rng.random() < typo_rate:
        for _ in range(rng.randint(1, 2)):
            text = _typo(rng, text)
    r = rng.random()
    if r < 0.04:
        text = text.lower()
    elif r < 0.12 and text.endswith("."):
        text = text[:-1]
    return text


def _pick_themes(rng: random.Random, pool: list[Theme], k: int, boost: Theme | None) -> list[Theme]:
    """k distinct themes from pool (a boosted theme first, when it applies)."""
    chosen: list[Theme] = []
    if boost is not None and rng.random() < 0.6:
        chosen.append(boost)
    candidates = [t for t in pool if t is not boost] if chosen else list(pool)
    for i in range(min(k - len(chosen), len(candidates))):  # partial Fisher-Yates
        j = i + int(rng.random() * (len(candidates) - i))
        candidates[i], candidates[j] = candidates[j], candidates[i]
        chosen.append(candidates[i])
    return chosen


def _theme_pool(qid: str, stance: str) -> tuple[list[Theme], list[Theme]]:
    """(main, extra) theme pools for a stance: main themes carry the position."""
    themes = THEMES[qid]
    sided = {
        AGREE: [t for t in themes if t.side == AGREE],
        DISAGREE: [t for t in themes if t.side == DISAGREE],
    }
    neutral = [t for t in themes if t.side is None]
    if stance == MIXED:
        return sided[AGREE] + sided[DISAGREE], neutral
    return sided[stance], neutral


_POOLS: dict[tuple[str, str], tuple[list[Theme], list[Theme]]] = {
    (q, s): _theme_pool(q, s) for q in OPEN_QUESTIONS for s in (AGREE, DISAGREE, MIXED)
}
_SIDES: dict[str, tuple[list[Theme], list[Theme]]] = {
    q: (_POOLS[(q, AGREE)][0], _POOLS[(q, DISAGREE)][0]) for q in OPEN_QUESTIONS
}


@dataclass(frozen=True, slots=True)
class _Context:
    """What a respondent's answers may draw on."""

    stance: str
    street: str
    organisation: str
    boosts: dict[str, Theme]


def _compose(rng: random.Random, qid: str, ctx: _Context, opts: SampleOptions) -> Answer:
    """A free-text answer to one open question, with its gold labels."""
    stance = ctx.stance
    main, extra = _POOLS[(qid, stance)]
    is_org = bool(ctx.organisation)
    boost = ctx.boosts.get(qid)
    if boost is not None and boost.side not in (None, stance) and stance != MIXED:
        boost = None
    if qid == "q4" or (qid == "q3" and rng.random() < 0.15):
        main, extra = main + extra, []  # suggestions and "no effect" cut across positions
    if stance == MIXED and qid != "q4":
        agree_side, disagree_side = _SIDES[qid]
        themes = [_choice(rng, agree_side), _choice(rng, disagree_side)]
        if rng.random() < 0.5:
            themes.reverse()
    else:
        k = _weighted(rng, (1, 2, 3), (0.5, 0.35, 0.15)) if not is_org else _randint(rng, 2, 3)
        themes = _pick_themes(rng, main, k, boost)
    if extra and rng.random() < 0.2:
        themes.append(_choice(rng, extra))
    exclusive = [t for t in themes if t.exclusive]
    if exclusive:
        themes = exclusive[:1]

    short = not is_org and len(themes) == 1 and rng.random() < opts.short_rate
    sentences: list[str] = []
    stated = False  # the text states the respondent's position
    if is_org and qid == "q2":
        sentences.append(_choice(rng, ORG_OPENERS[stance]).format(org=ctx.organisation))
        stated = True
    elif is_org:
        sentences.append(_choice(rng, ORG_FOLLOW_OPENERS[qid]).format(org=ctx.organisation))
    elif rng.random() < (0.55 if qid == "q2" else 0.15):
        sentences.append(_choice(rng, OPENERS[qid][stance]))
        stated = True
    if not is_org and not short and rng.random() < 0.25:
        sentences.append(_fill(_choice(rng, PERSONAL), rng, ctx.street))

    hedges = SUGGESTION_HEDGES if qid == "q4" else HEDGES
    written: list[str] = []
    for theme in themes:
        if short and theme.short:
            sentences.append(_choice(rng, theme.short))
        else:
            n = 1 if theme.single or (rng.random() < 0.6 and not is_org) else 2
            frags = theme.fragments
            i = int(rng.random() * len(frags))
            picks = [frags[i]]
            if n == 2:  # a second, different fragment
                picks.append(frags[(i + 1 + int(rng.random() * (len(frags) - 1))) % len(frags)])
            for frag in picks:
                frag = _fill(frag, rng, ctx.street)
                r = rng.random()
                if r < 0.2 and frag.split(" ", 1)[0] not in _PERSONAL_START:
                    frag = _choice(rng, hedges) + _lower_first(frag)
                elif r < 0.45 and sentences:
                    frag = _choice(rng, CONNECTORS) + _lower_first(frag)
                sentences.append(frag)
        written.append(theme.key)
        if theme.side == stance:
            stated = True

    evidence = False
    rate = opts.organisation_evidence_rate if is_org else opts.evidence_rate
    if not short and rng.random() < rate:
        with_evidence = [t for t in themes if t.evidence] or [t for t in main if t.evidence]
        if with_evidence:
            theme = _choice(rng, with_evidence)
            pos = _randint(rng, 1 if sentences else 0, len(sentences))
            sentences.insert(
                pos, _fill(_choice(rng, theme.evidence), rng, ctx.street, numbers=True)
            )
            evidence = True
            if theme.key not in written:
                written.append(theme.key)
                stated = stated or theme.side == stance
    if not short and rng.random() < 0.2:
        closer = _choice(rng, CLOSERS[stance])
        if closer not in sentences:
            sentences.append(closer)
            stated = True

    if is_org and len(sentences) > 3:
        cut = len(sentences) // 2
        text = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    else:
        text = " ".join(sentences)
    text = _roughen(rng, text, opts.typo_rate)
    gold_stance = stance if stated and stance != MIXED else UNCLEAR
    return Answer(qid, text, tuple(written), gold_stance, evidence)


def _campaign_answer(
    rng: random.Random, qid: str, campaign: Campaign, ctx: _Context, opts: SampleOptions
) -> Answer:
    """A member's copy of the form letter, with the edits members really make."""
    letter = list(campaign.letters[qid])
    if rng.random() < 0.35:  # a verbatim copy
        text = " ".join(s for s, _ in letter)
        keys = tuple(dict.fromkeys(k for _, ks in letter for k in ks))
        return Answer(qid, text, keys, campaign.stance, False, "campaign")
    if len(letter) > 3 and rng.random() < 0.15:
        del letter[rng.randrange(1, len(letter) - 1)]  # drop a middle sentence
    sentences = [s for s, _ in letter]
    themes: list[str] = [k for _, keys in letter for k in keys]
    if qid == "q2" and rng.random() < 0.3:
        sentences[0] = f"As a resident of {ctx.street}, " + _lower_first(sentences[0])
    for old, new in campaign.swaps:
        if rng.random() < 0.15:
            sentences = [s.replace(old, new) for s in sentences]
    if rng.random() < 0.4:  # a sentence of their own
        if rng.random() < 0.5:
            own = _choice(rng, _POOLS[(qid, campaign.stance)][0])
            sentences.insert(
                _choice(rng, (0, len(sentences))),
                _fill(_choice(rng, own.fragments), rng, ctx.street),
            )
            themes.append(own.key)
        else:
            sentences.insert(0, _fill(_choice(rng, PERSONAL), rng, ctx.street))
    if qid == "q2" and rng.random() < 0.25:
        sentences.append(f"Regards, {_choice(rng, FIRST_NAMES)} {_choice(rng, LAST_NAMES)}")
    sep = "\n" if rng.random() < 0.1 else " "
    text = sep.join(sentences)
    if rng.random() < 0.3:
        text = _typo(rng, text)
    unique = tuple(dict.fromkeys(themes))
    return Answer(qid, text, unique, campaign.stance, False, "campaign")


def _closed_answer(rng: random.Random, stance: str, opts: SampleOptions) -> Answer:
    if rng.random() < opts.closed_blank_rate:
        return Answer("q1", "", kind="closed")
    options, weights = CLOSED_BY_STANCE[stance]
    return Answer("q1", _weighted(rng, options, weights), kind="closed")


def _open_answer(
    rng: random.Random,
    index: int,
    ctx: _Context,
    campaign: Campaign | None,
    opts: SampleOptions,
) -> Answer:
    """An open answer: empty, junk, campaign copy or composed text."""
    qid = OPEN_QUESTIONS[index]
    if campaign is not None:
        if qid in campaign.letters and (qid == "q2" or rng.random() < 0.8):
            return _campaign_answer(rng, qid, campaign, ctx, opts)
        if rng.random() < 0.5:
            return Answer(qid, "", kind="empty")
        return _compose(rng, qid, ctx, opts)
    r = rng.random()
    empty_rate = opts.empty_rate[index] if not ctx.organisation else 0.0
    if r < empty_rate:
        return Answer(qid, "" if rng.random() < 0.9 else "  ", kind="empty")
    if r < empty_rate + opts.junk_rate[index] and not ctx.organisation:
        return Answer(qid, _choice(rng, JUNK), kind="junk")
    return _compose(rng, qid, ctx, opts)


def _respondent(rng: random.Random, number: int, opts: SampleOptions) -> Respondent:
    """One respondent with attributes and an answer to every question."""
    is_org = rng.random() < opts.organisation_share
    where = _weighted(rng, WHERE, (0.55, 0.15, 0.22, 0.08))
    if where == WHERE[0]:
        ward, street = _choice(rng, ("Millbrook", "Ashgrove")), _choice(rng, STREETS_INSIDE)
    elif where == WHERE[1]:
        ward, street = _choice(rng, ("Millbrook", "Harbour")), _choice(rng, STREETS_BOUNDARY)
    elif where == WHERE[2]:
        ward, street = _choice(rng, WARDS[2:]), _choice(rng, STREETS_ELSEWHERE)
    else:
        ward, street = "", _choice(rng, STREETS_ELSEWHERE)
    boosts: dict[str, Theme] = {}
    if where == WHERE[1]:
        boosts["q3"] = THEME_BY_KEY["q3-boundary"]
        boosts["q2"] = THEME_BY_KEY["q2-displace"]

    campaign: Campaign | None = None
    if is_org:
        pattern, p_agree = ORG_KINDS[rng.randrange(len(ORG_KINDS))]
        organisation = pattern.format(
            place=_choice(rng, ORG_PLACES), surname=_choice(rng, LAST_NAMES)
        )
        r = rng.random()
        stance = (
            AGREE if r < p_agree else (DISAGREE if r < p_agree + (1 - p_agree) * 0.85 else MIXED)
        )
        if "Traders" in organisation or "Chamber" in organisation or "Builders" in organisation:
            boosts["q2"], boosts["q3"] = THEME_BY_KEY["q2-business"], THEME_BY_KEY["q3-business"]
        elif "Disability" in organisation or "Care" in organisation:
            boosts["q3"] = THEME_BY_KEY["q3-disability"]
            boosts["q4"] = THEME_BY_KEY["q4-exemptions"]
        attributes = ("Organisation", organisation, ward, where, "", "")
    else:
        organisation = ""
        badge = _weighted(rng, ("Yes", "No", "Prefer not to say"), (0.08, 0.88, 0.04))
        p_agree, p_disagree = STANCE_BY_WHERE[where]
        if badge == "Yes":
            p_agree, p_disagree = p_agree * 0.6, p_disagree + p_agree * 0.4
            boosts["q3"] = THEME_BY_KEY["q3-disability"]
            boosts["q4"] = THEME_BY_KEY["q4-exemptions"]
        r = rng.random()
        stance = AGREE if r < p_agree else (DISAGREE if r < p_agree + p_disagree else MIXED)
        r = rng.random()
        for c in opts.campaigns:
            if r < c.share:
                campaign, stance = c, c.stance
                break
            r -= c.share
        age = _weighted(rng, AGES, AGE_WEIGHTS)
        attributes = ("Individual", "", ward, where, age, badge)

    ctx = _Context(stance, street, organisation, boosts)
    answers = [_closed_answer(rng, stance, opts)]
    answers.extend(_open_answer(rng, i, ctx, campaign, opts) for i in range(len(OPEN_QUESTIONS)))
    return Respondent(str(100001 + number), attributes, answers, campaign.key if campaign else None)


def iter_respondents(
    n_respondents: int, *, seed: int = 0, options: SampleOptions | None = None
) -> Iterator[Respondent]:
    """Yield the sample's respondents one at a time (deterministic for a seed)."""
    if n_respondents < 1:
        raise ValueError("n_respondents must be at least 1")
    opts = options or SampleOptions()
    rng = random.Random(seed)
    for number in range(n_respondents):
        yield _respondent(rng, number, opts)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

OUTPUT_FILES: tuple[str, ...] = (
    "questions.csv",
    "responses.csv",
    "codebook.csv",
    "gold_themes.csv",
    "gold_stance.csv",
    "gold_evidence_rich.csv",
    "gold_campaigns.csv",
)
_BUFFER = 1 << 20


def _writer(handle: IO[str]) -> Any:
    """A CSV writer with Unix line endings (fields are quoted only when needed)."""
    return csv.writer(handle, lineterminator="\n")


def write_sample_consultation(
    out_dir: str | Path,
    n_respondents: int,
    *,
    seed: int = 0,
    options: SampleOptions | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> SampleSummary:
    """Write the demo consultation into out_dir (created if needed) and return a summary.

    ``progress`` is called with the number of respondents written so far.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_question = {qid: 0 for qid, _ in QUESTIONS}
    empty = junk = evidence_rich = gold_theme_rows = 0
    members = {c.key: 0 for c in (options or SampleOptions()).campaigns}

    with open(out / "questions.csv", "w", encoding="utf-8", newline="") as fh:
        w = _writer(fh)
        w.writerow(("question_id", "text"))
        w.writerows(QUESTIONS)
    with open(out / "codebook.csv", "w", encoding="utf-8", newline="") as fh:
        w = _writer(fh)
        w.writerow(("question_id", "theme", "label", "description", "position"))
        for qid in OPEN_QUESTIONS:
            w.writerows((qid, t.key, t.label, t.description, t.position) for t in THEMES[qid])

    names = ("responses", "gold_themes", "gold_stance", "gold_evidence_rich")
    headers = {
        "responses": ("response_id", "question_id", "text", *ATTRIBUTE_COLUMNS),
        "gold_themes": ("response_id", "question_id", "theme"),
        "gold_stance": ("response_id", "question_id", "stance"),
        "gold_evidence_rich": ("response_id", "question_id", "evidence_rich"),
    }
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=out) as tmp:
        parts: dict[tuple[str, str], Path] = {}
        handles = []
        writers: dict[tuple[str, str], Any] = {}
        files: dict[tuple[str, str], IO[str]] = {}
        try:
            for name in names:
                qids = [q for q, _ in QUESTIONS] if name == "responses" else list(OPEN_QUESTIONS)
                for qid in qids:
                    path = Path(tmp) / f"{name}.{qid}.part"
                    fh = open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)
                    handles.append(fh)
                    files[(name, qid)] = fh
                    parts[(name, qid)] = path
                    writers[(name, qid)] = _writer(fh)
            camp_fh = open(out / "gold_campaigns.csv", "w", encoding="utf-8", newline="")
            handles.append(camp_fh)
            camp_w = _writer(camp_fh)
            camp_w.writerow(("response_id", "question_id", "campaign_id"))

            for i, resp in enumerate(iter_respondents(n_respondents, seed=seed, options=options)):
                rid, attrs = resp.response_id, resp.attributes
                for a in resp.answers:
                    qid = a.question_id
                    writers[("responses", qid)].writerow((rid, qid, a.text, *attrs))
                    per_question[qid] += 1
                    if a.kind == "closed":
                        continue
                    if a.kind == "campaign" and resp.campaign is not None:
                        camp_w.writerow((rid, qid, resp.campaign))
                    empty += a.kind == "empty"
                    junk += a.kind == "junk"
                    evidence_rich += a.evidence
                    # Gold fields never need CSV quoting: plain writes are faster.
                    prefix = f"{rid},{qid},"
                    if a.themes:
                        files[("gold_themes", qid)].write(
                            "".join(f"{prefix}{key}\n" for key in a.themes)
                        )
                    gold_theme_rows += len(a.themes)
                    files[("gold_stance", qid)].write(f"{prefix}{a.stance}\n")
                    files[("gold_evidence_rich", qid)].write(
                        f"{prefix}{'YES' if a.evidence else 'NO'}\n"
                    )
                if resp.campaign is not None:
                    members[resp.campaign] += 1
                if progress is not None and (i + 1) % progress_every == 0:
                    progress(i + 1)
        finally:
            for fh in handles:
                fh.close()

        for name in names:  # join the parts in question order, as bytes
            with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as dst:
                _writer(dst).writerow(headers[name])
            with open(out / f"{name}.csv", "ab") as dst_bytes:
                for (part_name, _qid), path in parts.items():
                    if part_name == name:
                        with open(path, "rb") as src:
                            shutil.copyfileobj(src, dst_bytes, _BUFFER)
                        path.unlink()
    if progress is not None:
        progress(n_respondents)

    return SampleSummary(
        out_dir=out,
        respondents=n_respondents,
        seed=seed,
        rows=sum(per_question.values()),
        rows_per_question=per_question,
        empty=empty,
        junk=junk,
        evidence_rich=evidence_rich,
        campaign_members=members,
        gold_theme_rows=gold_theme_rows,
        files=list(OUTPUT_FILES),
    )
