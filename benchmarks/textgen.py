"""Seeded synthetic lecture text with known entities, for the graph and query benchmarks.

A :class:`Vocabulary` of people, organisations, places and domain concepts (some with an
acronym, "traumatic brain injury (TBI)"), and a :class:`Video` that gives one video its own
Zipf-skewed cast and draws ASR-like spoken sentences and OCR-like slides from it. Everything
is deterministic for a given seed.
"""

from __future__ import annotations

import random
from typing import Any, Callable

__all__ = ["Video", "Vocabulary"]

_FIRST = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark
Sandra Donald Margaret Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kenneth Michelle Kevin
Carol Brian Amanda George Melissa Timothy Deborah Ronald Stephanie Jason Rebecca Edward Sharon Jeffrey
Laura Ryan Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma
Larry Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory
Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet Jack Maria Dennis Catherine Jerry
Heather Tyler Diane Aaron Olivia Jose Julie Adam Joyce Nathan Victoria Henry Ruth Zachary Virginia
Douglas Lauren Peter Kelly Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Andrea Christian
Hannah Keith Megan Roger Cheryl Terry Jacqueline Austin Martha Sean Madison Gerald Teresa Carl Gloria
Harold Sara Dylan Janice Arthur Ann Lawrence Kathryn Jordan Abigail Jesse Sophia Bryan Frances
Billy Jean Bruce Alice Gabriel Judy Joe Isabella Logan Julia Alan Grace Juan Amber Albert Denise
Willie Danielle Elijah Marilyn Wayne Beverly Randy Charlotte Vincent Natalie Mason Theresa Roy Diana
Ralph Brittany Bobby Doris Russell Kayla Bradley Alexis Philip Lori Eugene Marie Priya Wei Hiroshi
Yuki Ahmed Fatima Mohammed Aisha Carlos Sofia Luis Elena Dmitri Olga Raj Ananya Chen Mei Kwame Amara
Lars Ingrid Pierre Camille Giovanni Francesca Hans Greta Sven Astrid Tomasz Agnieszka Omar Leila""".split()
_LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez
Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green
Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan
Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz
Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley
Plassman Lovelace Curie Okafor Nakamura Yamamoto Tanaka Suzuki Kowalski Novak Horvath Schneider
Fischer Weber Becker Hoffmann Rossi Russo Ferrari Esposito Bianchi Dubois Lefebvre Moreau Laurent
Andersen Nielsen Hansen Larsen Johansson Lindqvist Eriksson Petrov Ivanova Sokolov Kuznetsov Singh
Kumar Sharma Gupta Iyer Reddy Mehta Zhang Wang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Hu Guo Lin He
Gao Luo Zheng Liang Okonkwo Mensah Adeyemi Haddad Nasser Khalil Rahman Hossain Costa Santos Oliveira
Pereira Almeida Carvalho Ribeiro Barros Fitzgerald OBrien Gallagher Doyle Kavanagh Brennan Whitaker
Ashworth Pemberton Blackwood Hargreaves Thornton Winslow Caldwell Holloway Sinclair Prescott""".split()
_PLACES = """London Paris Berlin Madrid Rome Lisbon Dublin Amsterdam Brussels Vienna Prague Warsaw
Budapest Stockholm Oslo Copenhagen Helsinki Athens Istanbul Moscow Kyiv Cairo Nairobi Lagos Accra
Johannesburg Casablanca Tunis Dubai Doha Riyadh Tehran Karachi Delhi Mumbai Bangalore Chennai Kolkata
Dhaka Bangkok Hanoi Singapore Jakarta Manila Beijing Shanghai Shenzhen Seoul Tokyo Osaka Kyoto Taipei
Sydney Melbourne Brisbane Perth Auckland Wellington Toronto Montreal Vancouver Ottawa Chicago Boston
Seattle Denver Atlanta Houston Dallas Austin Phoenix Miami Philadelphia Pittsburgh Baltimore Detroit
Minneapolis Portland Nashville Edinburgh Glasgow Manchester Liverpool Birmingham Leeds Oxford
Cambridge Bristol Geneva Zurich Munich Hamburg Frankfurt Cologne Milan Naples Turin Barcelona Seville
Valencia Lyon Marseille Toulouse Bordeaux Rotterdam Antwerp Krakow Gdansk Bergen Gothenburg Reykjavik
Lima Bogota Quito Santiago Caracas Havana Montevideo""".split()
_COUNTRIES = """France Germany Spain Italy Portugal Ireland Japan China India Brazil Mexico Canada Australia
Kenya Nigeria Ghana Egypt Morocco Sweden Norway Finland Denmark Poland Greece Turkey Vietnam Thailand
Indonesia Argentina Chile Peru Colombia""".split()
_CITIES = list(_PLACES)
_PLACES = _PLACES + _COUNTRIES + ["New York", "Los Angeles", "San Francisco", "San Diego", "New Orleans", "Salt Lake City",
            "Buenos Aires", "Mexico City", "Rio de Janeiro", "Sao Paulo", "Cape Town", "Hong Kong",
            "Tel Aviv", "Kuala Lumpur", "New Delhi", "North Carolina", "South Africa", "New Zealand",
            "the United States", "the United Kingdom", "the Netherlands", "Switzerland", "Scotland"]
_ORG_WORDS = """Aurora Meridian Summit Pinnacle Horizon Vertex Northwind Bluewater Ironwood Silverline
Redwood Cobalt Quantum Helix Nimbus Atlas Orion Vanguard Sterling Beacon Keystone Crescent Evergreen
Granite Harbor Lumen Polaris Sequoia Tidewater Zenith Apex Cascade Frontier Liberty Pioneer Catalyst
Synapse Stratus Ember Halcyon Monarch Osprey Sentinel Solstice Trident Willow Argent Blackstone""".split()
_ORG_SUFFIX = ["Labs", "Systems", "Technologies", "Therapeutics", "Analytics", "Pharmaceuticals",
               "Robotics", "Energy", "Capital", "Networks", "Biosciences", "Health", "Dynamics", "Partners"]
_ORG_FIELDS = ["Neurology", "Aging", "Cancer Research", "Public Health", "Climate Science", "Data Science",
               "Artificial Intelligence", "Genomics", "Economics", "Oceanography", "Materials Science",
               "Mental Health", "Infectious Diseases", "Epidemiology", "Energy Policy", "Computer Science",
               "Robotics", "Nutrition", "Astronomy", "Cardiology"]
_ORG_FIXED = ["Duke University", "Stanford University", "Harvard Medical School", "the World Health Organization",
              "NASA", "the European Space Agency", "MIT", "Google", "Microsoft", "IBM", "the Mayo Clinic",
              "the National Institutes of Health", "the Wellcome Trust", "CERN", "the Max Planck Society",
              "Johns Hopkins University", "the Gates Foundation", "the Red Cross", "UNESCO", "the World Bank",
              "Oxford University", "Imperial College London", "ETH Zurich", "the Karolinska Institute",
              "Tsinghua University", "the University of Tokyo", "the Pasteur Institute", "Pfizer", "Siemens"]
#: domain -> (modifiers, heads); a concept is "modifier head" within one domain
_DOMAINS: dict[str, tuple[str, str]] = {
    "medicine": (
        "traumatic chronic acute cognitive cardiac genetic neural metabolic inflammatory vascular "
        "pulmonary renal hepatic autoimmune degenerative congenital pediatric geriatric clinical "
        "postoperative systemic peripheral hormonal viral bacterial",
        "brain injury|decline|disease|risk factor|biomarker|therapy|syndrome|impairment|response|disorder|"
        "failure|infection|imaging|screening|outcome|trial|marker|pathway|lesion|dysfunction"),
    "machine learning": (
        "convolutional recurrent sparse contrastive generative bayesian adversarial probabilistic "
        "hierarchical multimodal self-supervised semi-supervised federated differentiable stochastic "
        "variational autoregressive transformer-based graph-based low-rank quantized distilled "
        "multilingual robust scalable",
        "neural network|model|attention|embedding|loss function|optimizer|retrieval|classifier|encoder|"
        "decoder|representation|inference|training|benchmark|tokenizer|architecture|regularization|"
        "search|clustering|pretraining"),
    "climate": (
        "atmospheric oceanic coastal arctic tropical carbon thermal seasonal regional global "
        "urban agricultural hydrological glacial volcanic solar marine terrestrial extreme polar "
        "anthropogenic historical projected surface deep",
        "warming|circulation|feedback|emission|sea level|ice sheet|drought|heat wave|rainfall|"
        "temperature anomaly|carbon sink|climate model|ecosystem|permafrost|monsoon|aerosol|"
        "wind pattern|flood risk|current|runoff"),
    "economics": (
        "monetary fiscal inflationary structural cyclical labor industrial financial fiscal "
        "household corporate regional international macroeconomic behavioral public private "
        "informal sovereign agricultural digital housing energy trade minimum",
        "policy|market|demand|supply|growth|debt|productivity|unemployment|inequality|interest rate|"
        "wage|investment|tax|subsidy|exchange rate|price index|consumption|savings|recession|tariff"),
    "biology": (
        "cellular molecular genomic mitochondrial synaptic embryonic microbial protein "
        "evolutionary epigenetic immune stem regulatory ribosomal viral plant marine "
        "developmental neuronal hormonal transcriptional metabolic chromosomal bacterial cortical",
        "expression|signaling|mutation|receptor|membrane|replication|sequencing|pathway|network|"
        "cell line|tissue|enzyme|gene editing|protein folding|transcription|adaptation|diversity|"
        "population|selection|regulation"),
    "software": (
        "distributed concurrent relational columnar incremental asynchronous vectorized "
        "embedded persistent transactional functional compiled interpreted serverless "
        "containerized encrypted cached versioned replicated sharded immutable static dynamic "
        "parallel lightweight",
        "database|query engine|file system|scheduler|compiler|runtime|cache|index|storage engine|"
        "message queue|garbage collector|build system|type system|memory allocator|protocol|"
        "kernel|api|pipeline|virtual machine|log"),
    "physics": (
        "quantum optical nuclear thermal magnetic electronic gravitational relativistic "
        "particle plasma condensed topological superconducting photonic acoustic atomic "
        "cosmic dark solar stellar orbital laser semiconductor crystalline",
        "field|wave|spectrum|state|detector|resonance|entanglement|lattice|matter|energy|decay|"
        "collision|radiation|oscillation|interferometer|sensor|transition|coupling|material|beam"),
    "education": (
        "early adult online vocational secondary primary bilingual inclusive remote "
        "collaborative standardized formative summative project-based peer blended "
        "experiential digital rural urban special higher lifelong academic national",
        "learning|curriculum|assessment|literacy|teaching|classroom|achievement|enrollment|"
        "dropout rate|tutoring|feedback|motivation|attendance|reading program|mentoring|"
        "testing|instruction|school funding|homework|graduation rate"),
}
_VERBS = ["increases", "reduces", "predicts", "explains", "affects", "drives", "limits", "improves",
          "causes", "prevents", "changes", "amplifies", "shapes", "modulates", "triggers", "supports"]
_PERSON_VERBS = ["studied", "measured", "discovered", "described", "analysed", "modelled", "criticised",
                 "proposed", "tested", "replicated", "introduced", "challenged", "mapped", "reviewed"]
_FILLERS = ["", "", "", "So ", "Um, ", "And ", "Now, ", "Okay, so ", "You know, ", "Basically, ", "Right, ",
            "And then "]


class Vocabulary:
    """Seeded lists of people, organisations, places and concepts (with acronyms)."""

    def __init__(self, seed: int = 0, people: int = 3000, orgs: int = 1200):
        rng = random.Random(seed)
        names: set[tuple[str, str]] = set()
        while len(names) < people:
            names.add((rng.choice(_FIRST), rng.choice(_LAST)))
        self.people = sorted(names)
        rng.shuffle(self.people)
        made = set(_ORG_FIXED)
        while len(made) < orgs:
            kind = rng.random()
            if kind < 0.35:
                made.add(f"{rng.choice(_ORG_WORDS)} {rng.choice(_ORG_SUFFIX)}")
            elif kind < 0.55:
                made.add(f"the University of {rng.choice(_CITIES)}")
            elif kind < 0.75:
                made.add(f"the {rng.choice(_CITIES)} Institute of {rng.choice(_ORG_FIELDS)}")
            elif kind < 0.9:
                made.add(f"the {rng.choice(_LAST)} Center for {rng.choice(_ORG_FIELDS)}")
            else:
                made.add(f"the {rng.choice(_LAST)} Foundation")
        self.orgs = sorted(made)
        rng.shuffle(self.orgs)
        self.places = list(_PLACES)
        rng.shuffle(self.places)
        self.concepts: dict[str, list[str]] = {}
        for domain, (mods, heads) in _DOMAINS.items():
            combos = [f"{m} {h}" for m in dict.fromkeys(mods.split()) for h in heads.split("|")]
            rng.shuffle(combos)
            self.concepts[domain] = combos
        self.acronym = {c: "".join(w[0] for w in c.replace("-", " ").split()).upper()
                        for cs in self.concepts.values() for c in cs}

    @property
    def size(self) -> dict[str, int]:
        return {"people": len(self.people), "organisations": len(self.orgs), "places": len(self.places),
                "concepts": sum(len(c) for c in self.concepts.values())}


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


class Video:
    """One video's cast: a topic, the people, organisations, places and concepts it keeps returning to."""

    def __init__(self, vocab: Vocabulary, rng: random.Random):
        self.rng = rng
        self.vocab = vocab
        domains = list(vocab.concepts)
        self.domain = domains[rng.randrange(len(domains))]
        other = domains[rng.randrange(len(domains))]

        def pick(pool: list[Any], k: int, s: float) -> list[Any]:
            return list(dict.fromkeys(rng.choices(pool, weights=_zipf(len(pool), s), k=k)))

        self.people = pick(vocab.people, 14, 0.6)
        self.orgs = pick(vocab.orgs, 8, 0.7)
        self.places = pick(vocab.places, 6, 0.8)
        self.concepts = pick(vocab.concepts[self.domain], 60, 0.5) + pick(vocab.concepts[other], 15, 0.5)
        self.defined: set[str] = set()  # acronyms already spelled out in this video

    def _cast(self, own: list[str], pool: list[str]) -> str:
        if self.rng.random() < 0.15:  # an aside about someone/something outside the video's cast
            return self.rng.choice(pool)
        return self.rng.choices(own, weights=_zipf(len(own), 0.9))[0]

    def person(self) -> str:
        first, last = self._cast(self.people, self.vocab.people)  # type: ignore[misc]
        r = self.rng.random()
        if r < 0.2:
            return last
        if r < 0.3:
            return f"{self.rng.choice(['Dr.', 'Professor'])} {last}"
        return f"{first} {last}"

    def surname(self) -> str:
        return self._cast(self.people, self.vocab.people)[1]

    def org(self) -> str:
        return self._cast(self.orgs, self.vocab.orgs)

    def place(self) -> str:
        return self._cast(self.places, self.vocab.places)

    def concept(self, define: bool = True) -> str:
        c = self._cast(self.concepts, self.vocab.concepts[self.domain])
        acr = self.vocab.acronym[c]
        if len(acr) < 2:
            return c
        if c in self.defined:
            return acr if self.rng.random() < 0.5 else c
        if define and self.rng.random() < 0.3:
            self.defined.add(c)
            return f"{c} ({acr})"
        return c

    def _two(self, draw: Callable[..., str], *args: Any) -> tuple[str, str]:
        """Two different draws ("X partnered with X" is not a sentence anyone says)."""
        a = draw(*args)
        for _ in range(8):
            b = draw(*args)
            if b.split(" (")[0] != a.split(" (")[0] and self.vocab.acronym.get(a.split(" (")[0]) != b:
                return a, b
        return a, b

    def sentence(self) -> str:
        r = self.rng
        P, S, O, L, C = self.person, self.surname, self.org, self.place, self.concept  # noqa: E741 (the template letters)
        n = r.choice([12, 40, 85, 120, 300, 1500, 2400])
        year = r.randrange(1985, 2025)

        templates: list[Callable[[], str]] = [
            lambda: "{0} at {1} showed that {2} {4} {3}.".format(P(), O(), *self._two(C), r.choice(_VERBS)),
            lambda: f"{P()} {r.choice(_PERSON_VERBS)} {C()} in {L()}.",
            lambda: "{0} found that {1} {3} the {2}.".format(S(), *self._two(C), r.choice(_VERBS)),
            lambda: "We used {0} to measure {1} in about {2} participants.".format(*self._two(C), n),
            lambda: f"{O()} funded the study of {C()} in {L()}.",
            lambda: "{0} and {1} published a paper on {2} in {3}.".format(*self._two(P), C(), year),
            lambda: "The {0} is basically a kind of {1}, if you think about it.".format(*self._two(C, False)),
            lambda: f"In {L()}, researchers at {O()} measured {C()} over {n} days.",
            lambda: f"{P()} from {O()} presented {C()} at the conference in {L()}.",
            lambda: "{0} always said that {1} matters more than {2}.".format(S(), *self._two(C)),
            lambda: "The {0} explains about {2} percent of the variance in {1}.".format(
                *self._two(C, False), n % 90 + 5),
            lambda: f"{P()} leads the {C(False)} group at {O()}.",
            lambda: "We compared {0} with {1} across {2} patients.".format(*self._two(C), n),
            lambda: "I think {0}'s work on {1} changed how we think about {2}.".format(S(), *self._two(C)),
            lambda: "{0} partnered with {1} on {2} in {3}.".format(*self._two(O), C(), year),
            lambda: "{0} moved from {1} to {2} to join {3}.".format(P(), *self._two(L), O()),
            lambda: "What {0} showed is that {1} {3} {2}, and that surprised everyone.".format(
                P(), *self._two(C), r.choice(_VERBS)),
            lambda: "If you look at this slide, {0} goes up while {1} goes down.".format(*self._two(C)),
            lambda: f"{P()} told me that the data from {L()} did not support {C(False)}.",
            lambda: f"Thanks to {P()} and the team at {O()} for the {C(False)} data.",
        ]
        text = r.choice(templates)()
        filler = r.choice(_FILLERS)
        if filler and text.split()[0] in {"We", "The", "What", "If", "In", "Thanks"}:
            text = text[0].lower() + text[1:]
        elif not filler:
            text = text[0].upper() + text[1:]  # "The Wu Foundation funded ..."
        return filler + text

    def slide(self) -> list[str]:
        r = self.rng
        c = self.concept(False)
        title = r.choice([c.title(), f"{c.title()} and {self.concept(False).title()}", f"Why {c} matters",
                          f"{c.capitalize()}: results from {self.place()}"])
        bullets: list[Callable[[], str]] = [
            lambda: f"• {self.concept()}",
            lambda: f"{self.person()}, {self.org()}",
            lambda: f"{self.surname()} et al., {r.randrange(1990, 2025)}",
            lambda: f"{self.org()} | {self.place()}",
            lambda: f"Results: {self.concept(False)} vs {self.concept(False)}",
            lambda: f"{self.concept()} {r.choice(_VERBS)} {self.concept(False)}",
            lambda: f"n = {r.randrange(20, 5000)}, p < 0.0{r.randrange(1, 6)}",
            lambda: f"Figure {r.randrange(1, 9)}: {self.concept(False)} in {self.place()}",
            lambda: f"- {self.concept(False).capitalize()} measured by {self.org()}",
        ]
        return [title] + [r.choice(bullets)() for _ in range(r.randrange(1, 4))]
