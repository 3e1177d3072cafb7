"""Knowledge-graph benchmark: ``python -m benchmarks.bench_graph --segments 100000 --videos 200``.

Builds a temporary knowledge base of synthetic speech (ASR-like sentences) and screen text
(OCR-like slide lines) spread over many videos, generated deterministically from a seeded
vocabulary of people, organisations, places and domain concepts (with acronym definitions
such as "traumatic brain injury (TBI)"). Then it measures the graph stage as the pipeline
runs it: spaCy extraction per video, ``replace_extraction`` per video, and one
``rebuild_graph`` with the packaged MiniLM embedder for entity names. Each scale runs in a
fresh process so its peak memory is its own. Results replace the ``graph`` section of
BENCHMARKS.md (``--out``), with the machine and the command.

Segments are written with the store API but without text embeddings (the store fills a
zero vector): the graph stage never reads segment vectors, and embedding 100k texts would
dominate the run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

__all__ = ["main", "make_segments"]

_BEGIN, _END = "<!-- bench:graph -->", "<!-- /bench:graph -->"
_SEGMENT_MODEL = "bench-graph:zero-vector"  # segments are stored without text embeddings
_DIM = 384

# -- vocabulary ---------------------------------------------------------------------------
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


class _Video:
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
        P, S, O, L, C = self.person, self.surname, self.org, self.place, self.concept
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


def _video_id(i: int) -> str:
    import hashlib

    return hashlib.blake2b(f"bench-graph-video-{i}".encode(), digest_size=16).hexdigest()


def make_segments(n: int, videos: int, seed: int = 0, vocab: Vocabulary | None = None) -> dict[str, list[Any]]:
    """``n`` speech and screen-text segments over ``videos`` videos: {video_id: [Segment, ...]}.
    About 3 in 4 are speech (one or two spoken sentences), the rest slides (a title and 1-3 lines)."""
    from vrag.schema import Segment

    vocab = vocab or Vocabulary(seed)
    out: dict[str, list[Any]] = {}
    per, extra = divmod(n, videos)
    for v in range(videos):
        rng = random.Random(f"{seed}:{v}")
        video = _Video(vocab, rng)
        vid = _video_id(v)
        segs, t, slide_t = [], 0.0, 0.0
        for _ in range(per + (v < extra)):
            if rng.random() < 0.75:
                text = " ".join(video.sentence() for _ in range(rng.choice((1, 1, 2))))
                dur = round(len(text.split()) / 2.5, 2)
                segs.append(Segment(vid, "asr", t, t + dur, text, "bench:asr"))
                t += dur + 0.3
            else:
                slide_t = max(slide_t, t)
                segs.append(Segment(vid, "ocr", slide_t, slide_t + 20.0, "\n".join(video.slide()), "bench:ocr"))
                slide_t += 20.0
        out[vid] = segs
    return out


def _records(segs: list[Any]) -> list[tuple[str, str]]:
    """Extraction input as the pipeline builds it: speech whole, each screen line on its own."""
    texts = [(s.segment_id, s.text) for s in segs if s.modality == "asr"]
    for s in segs:
        if s.modality == "ocr":
            texts += [(s.segment_id, line) for line in s.text.splitlines() if line.strip()]
    return texts


class _Clock:
    """Wall time, this process's CPU time, and the CPU time other processes took meanwhile
    (from /proc/stat), summed over the timed spans: on a shared machine the last says how
    much of the wall time is contention."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.others = 0.0

    @staticmethod
    def _busy() -> float:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return 0.0
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> "_Clock":
        self._start = (time.perf_counter(), time.process_time(), self._busy())
        return self

    def __exit__(self, *exc: Any) -> None:
        wall, cpu, busy = time.perf_counter(), time.process_time(), self._busy()
        self.wall += wall - self._start[0]
        self.cpu += cpu - self._start[1]
        self.others += max(0.0, (busy - self._start[2]) - (cpu - self._start[1]))

    def to_json(self) -> dict[str, float]:
        return {"wall": self.wall, "cpu": self.cpu, "others": self.others}


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(n: int, videos: int, seed: int, profile: str | None, repeat: int = 1) -> dict[str, Any]:
    """In a fresh process: build the knowledge base, then time extraction, storage and the graph build."""
    import importlib

    from vrag.backends.text_embed import text_embedder
    from vrag.config import Config
    from vrag.graph_build import rebuild_graph
    from vrag.graph_store import MENTIONS, replace_extraction
    from vrag.indexers.graph_extract import extract
    from vrag.store import Store

    importlib.import_module("vrag.indexers.graph_resolve")  # imported now: the code measured is the code at start
    result: dict[str, Any] = {"segments": n, "videos": videos, "seed": seed, "load_start": os.getloadavg()[0],
                              "code": _graph_code()}
    started = time.perf_counter()
    vocab = Vocabulary(seed)
    data = make_segments(n, videos, seed, vocab)
    result["vocabulary"] = vocab.size
    result["generate_s"] = time.perf_counter() - started
    result["asr"] = sum(s.modality == "asr" for segs in data.values() for s in segs)
    result["ocr"] = sum(s.modality == "ocr" for segs in data.values() for s in segs)
    with tempfile.TemporaryDirectory(prefix="vrag-bench-graph-") as tmp:
        store = Store(Path(tmp) / "kb")
        started = time.perf_counter()
        for vid, segs in data.items():
            store.replace_segments(vid, segs, _SEGMENT_MODEL, _DIM)
        result["write_segments_s"] = time.perf_counter() - started

        started = time.perf_counter()
        extract([("warm-up", "Marie Curie discovered polonium in Paris.")])  # loads spaCy (public API only)
        result["spacy_load_s"] = time.perf_counter() - started
        extract_clock, store_clock = _Clock(), _Clock()
        records = words = mentions_n = relations_n = 0
        for vid, segs in data.items():
            texts = _records(segs)
            records += len(texts)
            words += sum(len(t.split()) for _, t in texts)
            with extract_clock:
                mentions, relations = extract(texts)
            with store_clock:
                replace_extraction(store, vid, mentions, relations)
            mentions_n += len(mentions)
            relations_n += len(relations)
        del data
        result.update(records=records, words=words, extract_s=extract_clock.wall, extract=extract_clock.to_json(),
                      replace_extraction_s=store_clock.wall,
                      mentions=mentions_n, video_relations=relations_n,
                      mention_rows=store._open(MENTIONS).count_rows(), rss_after_extract_mb=_rss_mb())

        cfg = Config.load()
        embedder = text_embedder(cfg)
        similarity = float(cfg.graph_merge_similarity)
        result.update(similarity=similarity, embedder=embedder.model_id)
        started = time.perf_counter()
        embedder.embed(["warm up"])
        result["embedder_load_s"] = time.perf_counter() - started
        result["rss_before_rebuild_mb"] = _rss_mb()
        embedded = {"s": 0.0, "n": 0}

        def embed(texts: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return embedder.embed(texts)
            finally:
                embedded["s"] += time.perf_counter() - t0
                embedded["n"] += len(texts)

        runs = []
        for i in range(max(1, repeat)):
            embedded.update(s=0.0, n=0)
            with _Clock() as clock:
                entities, relations = rebuild_graph(store, embed, similarity, embedder.model_id)  # as Pipeline.rebuild_graph
            runs.append({**clock.to_json(), "embed": embedded["s"], "embedded": embedded["n"]})
            if i == 0:
                result["peak_rss_mb"] = _rss_mb()  # of one rebuild
        best = min(runs, key=lambda r: r["wall"])  # the least disturbed by other processes
        result.update(rebuild_s=best["wall"], rebuild=best, rebuild_runs=runs, embed_s=best["embed"],
                      embedded=best["embedded"], entities=entities, relations=relations,
                      load_end=os.getloadavg()[0])
        if profile:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            embedded.update(s=0.0, n=0)
            started = time.perf_counter()
            prof.runcall(rebuild_graph, store, embed, similarity, embedder.model_id)
            result["profiled_rebuild_s"] = time.perf_counter() - started
            prof.dump_stats(profile)
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            stats.sort_stats("cumulative").print_stats(15)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats(r"graph_|store\.py|lancedb/table|json/", 25)
            print(buf.getvalue(), file=sys.stderr)
    return result


def _run_child(n: int, videos: int, seed: int, profile: str | None = None, repeat: int = 1) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_graph", "--child", "--segments", str(n), "--videos", str(videos),
           "--seed", str(seed), "--repeat", str(repeat)] + (["--profile", profile] if profile else [])
    print(f"measuring {n} segments over {videos} videos ...", file=sys.stderr)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                         env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error"))
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed for {n} segments (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


_GRAPH_FILES = ("indexers/graph_extract.py", "indexers/graph_resolve.py", "vrag/graph_store.py")


def _graph_code() -> dict[str, str]:
    """Which graph code is measured: the commit, local changes to the graph files, and their digest."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1(b"".join((root / f).read_bytes() for f in _GRAPH_FILES if (root / f).exists())).hexdigest()
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *_GRAPH_FILES], cwd=root,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return {"text": "graph code at an unknown revision", "digest": digest}
    changed = [line[3:] for line in dirty if line.strip()]
    text = f"graph code at commit {head}" + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")
    return {"text": text, "digest": digest}


def _report(rows: list[dict[str, Any]], command: str) -> str:
    from benchmarks.bench import _machine

    big = rows[-1]
    vocab = big["vocabulary"]
    def busy(r: dict[str, Any], phase: str) -> float:  # cores other processes kept busy meanwhile
        return r[phase]["others"] / r[phase]["wall"] if r[phase]["wall"] > 0 else 0.0

    shared = max(max(busy(r, "extract"), busy(r, "rebuild")) for r in rows)
    table = [
        f"| {r['segments']:,} ({r['videos']} videos) | {r['records']:,} | {r['extract_s']:.0f} s "
        f"| **{r['segments'] / r['extract_s']:,.0f}** ({r['records'] / r['extract_s']:,.0f} records/s) "
        f"| {r['replace_extraction_s']:.1f} s | **{r['rebuild_s']:.1f} s** (embed {r['embed_s']:.1f} s "
        f"for {r['embedded']:,} names) | {r['entities']:,} | {r['relations']:,} "
        f"| {r['rss_after_extract_mb']:.0f} MB / {r['peak_rss_mb']:.0f} MB |"
        for r in rows
    ]
    lines = [
        _BEGIN,
        "## Knowledge-graph stage at scale (synthetic text, CPU)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `{command}` on: {_machine()}; "
        f"spaCy en_core_web_sm, {big['code']['text']}"
        + ("" if len({r["code"]["digest"] for r in rows} | {_graph_code()["digest"]}) == 1
           else " (WARNING: the graph code changed while the benchmark ran; rows may not be comparable)")
        + f", merge similarity {big['similarity']:g}."
        + (f" The machine was shared with other work (up to {shared:.1f} of its {os.cpu_count()} cores busy with "
           "other processes during a measured phase, see below), so the wall times are upper bounds."
           if shared > 0.2 else ""),
        "",
        f"Input: synthetic speech and screen text generated by `benchmarks.bench_graph` (seed {big['seed']}): "
        f"~3 in 4 segments are ASR-like spoken sentences, the rest OCR-like slides (a title and 1-3 lines, "
        f"each line extracted as its own record, as the pipeline does). Each video has its own cast drawn "
        f"with a Zipf skew from {vocab['people']:,} people (full names, surnames alone, \"Dr. X\"), "
        f"{vocab['organisations']:,} organisations, {vocab['places']} places and {vocab['concepts']:,} domain "
        "concepts in 8 fields, some defined with an acronym (\"traumatic brain injury (TBI)\") and later "
        "used by it. Segments are stored with `Store.replace_segments` and zero vectors (the graph stage "
        "never reads segment vectors); each scale runs in a fresh process.",
        "",
        "| segments | extraction records | extract() | segments/s | replace_extraction | rebuild_graph | entities "
        "| relations | peak RSS after extraction / after one rebuild |",
        "|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        "- `extract()` runs once per video over its speech and screen lines (as `Pipeline._extract_graph`); "
        f"spaCy load ({big['spacy_load_s']:.1f} s) and MiniLM load ({big['embedder_load_s']:.1f} s) are not "
        "included. `replace_extraction` is the per-video write of mentions and relations "
        f"({big['mention_rows']:,} rows at {big['segments']:,} segments).",
        "- `rebuild_graph` is one full rebuild from every stored extraction, called as `Pipeline.rebuild_graph` "
        "calls it, with all-MiniLM-L6-v2 embedding every entity name (for near-duplicate merging and entity "
        "search); it runs after every index run that changed any video's text.",
    ]
    lines.append(
        "- CPU time of this process / cores other processes kept busy meanwhile: "
        + "; ".join(f"{r['segments']:,} segments: extract {r['extract']['cpu']:.0f} s / {busy(r, 'extract'):.1f}, "
                    f"rebuild {r['rebuild']['cpu']:.0f} s / {busy(r, 'rebuild'):.1f}" for r in rows)
        + ". spaCy runs on one core; MiniLM uses `threads` (2) cores, so its wall time suffers most when "
        "another process takes a core."
    )
    if big["rebuild_runs"][1:]:
        lines.append(
            f"- `rebuild_graph` ran {len(big['rebuild_runs'])} times per size; the table shows the fastest. All runs "
            "(wall s, of it embedding): "
            + "; ".join(f"{r['segments']:,} segments: " + ", ".join(f"{x['wall']:.1f} ({x['embed']:.1f})"
                                                                    for x in r["rebuild_runs"]) for r in rows)
            + "."
        )
    if "profiled_rebuild_s" in big:
        lines.append(f"- Under cProfile the same rebuild took {big['profiled_rebuild_s']:.1f} s.")
    lines.append(_END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_graph", description=__doc__.splitlines()[0])
    p.add_argument("--segments", type=int, default=100_000, help="segments in the largest run (default 100000)")
    p.add_argument("--videos", type=int, default=200, help="videos they are spread over (default 200)")
    p.add_argument("--compare", type=int, nargs="*", default=[10_000], metavar="N",
                   help="also run these smaller sizes, same segments per video (default 10000; none to skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="markdown file whose graph section is replaced (e.g. BENCHMARKS.md)")
    p.add_argument("--profile", metavar="FILE",
                   help="after the timed run, profile a second rebuild_graph of the largest size (cProfile stats to FILE)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="rebuild the graph N times and report the fastest (for shared machines; default 1)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.segments, args.videos, args.seed, args.profile, args.repeat)))
        return 0
    rows = []
    for n in sorted(c for c in args.compare if 0 < c < args.segments):
        rows.append(_run_child(n, max(1, round(args.videos * n / args.segments)), args.seed, None, args.repeat))
    rows.append(_run_child(args.segments, args.videos, args.seed, args.profile, args.repeat))
    command = "python -m benchmarks.bench_graph " + " ".join(argv if argv is not None else sys.argv[1:])
    section = _report(rows, command.strip())
    print(section)
    if args.out:
        from benchmarks.bench import _write

        _write(args.out, section, _BEGIN, _END)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
