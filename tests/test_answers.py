"""Answer composition (issue 16): the asked-for type, the short answer, quotes grown to what completes
them, calibrated "not found", and file names instead of absolute paths. Real spaCy, real MiniLM, real
LanceDB; the last tests ask the real recordings of ../shared/eval."""

from __future__ import annotations

import pytest

from vrag.config import Config
from vrag.retrievers.answer_type import asked_modality, asked_type, find_typed
from vrag.retrievers.generate import NOT_FOUND, ExtractiveGenerator, with_context
from vrag.retrievers.pieces import display_paths
from vrag.schema import Hit, Segment
from vrag.store import Store


@pytest.fixture(scope="module")
def nlp():
    from vrag.indexers.graph_extract import load_nlp

    return load_nlp()


@pytest.fixture(scope="module")
def generator():
    from vrag.backends.text_embed import text_embedder

    return ExtractiveGenerator(text_embedder(Config.load()))


@pytest.mark.parametrize("question,want", [
    ("Who is Bell Media's president of broadcasting and content?", "PERSON"),
    ("Who is the host?", "PERSON"),
    ("By how much did TBI raise the risk of dementia?", "NUMBER"),
    ("How many twin pairs were in the study?", "NUMBER"),
    ("What is the temperature in Toronto?", "NUMBER"),
    ("When will the flurries be over?", "DATE"),
    ("What time does the LIVE label show?", "DATE"),
    ("Which company does Randy Lennox work for?", "ORG"),
    ("Which channel is the talk show on?", "ORG"),
    ("Where will the award be presented?", "PLACE"),
    ("Which airport does the forecaster mention?", "PLACE"),
    ("How far south might the flurries reach?", "EXTENT"),
    ("How long is the guitar solo?", "DURATION"),
    ("What are the key ingredients of the sunscreen?", None),
    ("Why does the analyst think the contact was unavoidable?", None),
    ("What did Glenn say about the Leafs?", None),
    ("What network name is on the studio desk graphic?", "ORG"),  # the noun a "name" names
    ("Which kind of company makes the sunscreen?", "ORG"),
    ("What name does the host use?", None),
    ("Which direction is the wind coming from in Toronto?", "DIRECTION"),
    # who acts is not what is asked: the singer hopes, the host announces
    ("What does the singer hope to buy his way out of?", None),
    ("What did the host announce?", None),
    ("Who is the analyst answering?", "PERSON"),
])
def test_the_question_says_what_kind_of_answer_it_wants(nlp, question, want):
    got = asked_type(question, nlp)
    assert (got.type if got else None) == want, got


def test_typed_answers_are_read_from_the_evidence(nlp):
    text = "And what Brenda has found is that, yes indeed, TBI is increased with risk of dementia, about a 60% increase."
    assert find_typed(nlp(text), text, "NUMBER", "By how much did TBI raise the risk?")[0] == "about 60%"
    text = "His name is Randy Lennox. He is an absolute legend in the music industry."
    assert find_typed(nlp(text), text, "PERSON", "Who is the president?") == ["Randy Lennox"]
    text = "Partly Cloudy / Wind:SSW27-37km/h"  # the tagger calls "km/h" an ORG: not a name
    assert find_typed(nlp(text), text, "ORG", "Which company?") == []
    text = "Barrie Partly Cloudy / Wind:SSW 27-37km/h"  # nor a compass point set apart from its figures
    assert "SSW" not in find_typed(nlp(text), text, "ORG", "What network name is on the graphic?")
    assert find_typed(nlp("LIVE12:17"), "LIVE12:17", "DATE", "What time is shown?") == ["12:17"]
    text = "Partly Cloudy / Wind:SSW27-37km/h"  # a compass code glued to the speed; "je ne sais" has none
    assert find_typed(nlp(text), text, "DIRECTION", "Which direction is the wind from?") == ["SSW"]
    assert find_typed(nlp("Je ne sais pas"), "Je ne sais pas", "DIRECTION", "Which direction?") == []
    text = "Winds out of the north-east at 20"
    assert find_typed(nlp(text), text, "DIRECTION", "Which direction?") == ["north-east"]
    text = "Discordant Twins"  # a slide's heading: the tagger calls the plural a PERSON; it is nobody
    assert find_typed(nlp(text), text, "PERSON", "Whose paper is cited on the slide?") == []
    text = "Randy Lennox will be honoured."  # the question's own name is not its answer
    assert find_typed(nlp(text), text, "PERSON", "What award will Randy Lennox get?") == []


def _seg(modality, start, end, text, video="v1"):
    return Segment(video, modality, start, end, text, "test@1")


def test_a_quote_runs_on_into_the_sentence_that_names_the_person(tmp_path, generator):
    """The retrieved sentence stops before the name; the next record (not retrieved) holds it."""
    store = Store(tmp_path / "kb")
    asked = _seg("asr", 2.77, 5.67, "Now we're president of broadcasting and content for Bell Media.")
    named = _seg("asr", 5.99, 9.31, "His name is Randy Lennox. He is an absolute legend in the music industry.")
    later = _seg("asr", 20.0, 24.0, "You can watch it right here on CTV.")
    store.segments.replace("v1", [asked, named, later], "m", 4)
    hits = [Hit(asked, 0.8, "asr", "/home/me/videos/social.mp4"), Hit(later, 0.2, "asr", "/home/me/videos/social.mp4")]
    answer = generator.answer("Who is Bell Media's president of broadcasting and content?", with_context(store, hits))
    assert answer.found and answer.short == "Randy Lennox"
    lines = answer.text.splitlines()
    assert lines[0] == "Randy Lennox"
    assert lines[1].startswith("“Now we're president of broadcasting and content for Bell Media. His name is Randy Lennox.")
    assert "— social.mp4 @ 00:02–00:09" in lines[1] and "/home/me" not in answer.text
    assert answer.citations[0]["start"] == 2.77 and answer.citations[0]["end"] == 9.31
    assert answer.citations[0]["path"] == "/home/me/videos/social.mp4"  # the JSON keeps the playable path


def test_a_screen_header_brings_its_list(generator):
    block = _seg("ocr", 19.35, 23.36, "KEY INGREDIENTS:\n*VITAMINS B5 & E\n*ALOE\n*MARINE EXTRACTS")
    benefits = _seg("ocr", 14.6, 18.6, "KEY BENEFITS:\n*GREAT FOR NORMAL TO OILY SKIN\n*DAILY MOISTURIZER")
    hits = [Hit(block, 0.7, "ocr", "ad.mp4"), Hit(benefits, 0.5, "ocr", "ad.mp4")]
    answer = generator.answer("What are the key ingredients of the sunscreen?", hits)
    assert answer.short == "VITAMINS B5 & E, ALOE, MARINE EXTRACTS"
    assert "“KEY INGREDIENTS: *VITAMINS B5 & E / *ALOE / *MARINE EXTRACTS” — ad.mp4 @ 00:19–00:23" in answer.text


def test_not_found_only_when_the_evidence_lacks_the_question(generator):
    talk = [Hit(_seg("asr", 32.0, 40.0, "TBI is increased with risk of dementia, about a 60% increase."), 0.6, "asr",
                "talk.mp4"),
            Hit(_seg("asr", 45.0, 51.0, "It seems like it's non Alzheimer's disease dementia."), 0.5, "asr", "talk.mp4")]
    found = generator.answer("Roughly how much did a brain injury raise the risk of dementia?", talk)
    assert found.found and "60%" in found.short
    # a name the evidence never mentions, or a price nobody gives: the talk does not answer it
    assert generator.answer("What did the Ubuntu developers say about kernels?", talk).text == NOT_FOUND
    assert generator.answer("How much does the dementia test cost?", talk).text == NOT_FOUND
    assert not generator.answer("What daily dose of aspirin prevents strokes in athletes?", talk).found
    # a name heard a little differently by speech recognition is still the same name
    misheard = [Hit(_seg("asr", 3.0, 8.0, "Flurries in northern Ajax and Whippy before this evening is out."), 0.5,
                    "asr", "weather.mp4")]
    assert generator.answer("Will Ajax and Whitby get snow this evening?", misheard).found


def test_a_spoken_question_is_quoted_with_its_reply(generator):
    """"Was there contact to the head?" is answered by the reply after it, not by the question itself."""
    said = _seg("asr", 2.8, 5.9, "Now, was there contact to the head? Absolutely, there was.")
    after = _seg("asr", 6.4, 10.3, "But I believe the league would say this is unavoidable contact to the head.")
    answer = generator.answer("Was there contact to the head on that hit?",
                              [Hit(said, 0.8, "asr", "hockey.mp4"), Hit(after, 0.6, "asr", "hockey.mp4")])
    assert answer.found and "Absolutely, there was." in answer.text.splitlines()[0]
    assert answer.text.count("Absolutely, there was.") == 1  # the reply is not quoted twice


def test_a_pop_up_question_answers_what_it_asks(generator):
    """"What does the pop-up ask?": the question on screen is the answer, not the line beside it."""
    asks = _seg("ocr", 30.9, 31.5, "Does the display look OK?")
    note = _seg("ocr", 30.9, 31.5, "The display will be reset to its previous configuration in 29 seconds")
    hits = [Hit(note, 0.6, "ocr", "settings.webm"), Hit(asks, 0.5, "ocr", "settings.webm")]
    answer = generator.answer("What question does the pop-up ask about the display?", hits)
    assert answer.found and answer.text.splitlines()[0].startswith("“Does the display look OK?”")
    # no word of the question is in the pop-up's question, and retrieval was weak: it is still the answer
    other = _seg("asr", 0.0, 10.4, "And so my fellow Americans, ask not what your country can do for you.", video="v2")
    select = _seg("ocr", 11.5, 12.5, "Select a monitor to change its properties; drag it to rearrange its placement.")
    hits = [Hit(other, 0.03, "asr", "speech.flac"), Hit(select, 0.02, "ocr", "settings.webm"),
            Hit(note, 0.02, "ocr", "settings.webm"), Hit(asks, 0.01, "ocr", "settings.webm")]
    answer = generator.answer("After applying the change, what does the pop-up ask the user?", hits, weak=True)
    assert answer.found and answer.text.splitlines()[0].startswith("“Does the display look OK?"), answer.text


def test_a_second_piece_holding_the_asked_type_is_quoted_too(generator):
    """Two times close in score: the better scored one ("the next hour") is not the answer here, so the
    other ("before this evening is out") is quoted as well; a piece without a time so far behind is not."""
    first = _seg("asr", 2.0, 8.0, "Some of these flurries just starting to edge down into northern York region "
                                  "over the next hour or two.")
    second = _seg("asr", 8.0, 18.0, "So air is like which church, Stoweville into possibly as far south as Unionville, "
                                    "Markham and northern Ajax and Whitby Macy, a few scattered flurries before this "
                                    "evening is out.")  # as Whisper base heard cais_v13_weather
    unrelated = _seg("asr", 30.0, 34.0, "We'll talk more about the long range forecast coming up.")
    hits = [Hit(first, 0.8, "asr", "weather.mp4"), Hit(second, 0.6, "asr", "weather.mp4"),
            Hit(unrelated, 0.4, "asr", "weather.mp4")]
    answer = generator.answer("When will the flurries be over?", hits)
    assert "next hour" in answer.text and "this evening is out" in answer.text
    assert "long range forecast" not in answer.text


def test_a_clock_question_is_answered_by_the_time_on_screen(generator):
    """No word of "what time does the clock in the top bar show" is on screen; the time is. A question
    about some other time is not answered by the clock."""
    bar = _seg("ocr", 0.0, 37.0, "Activities\nWed 18:38\nTiffany Antopolski")
    said = _seg("asr", 2.0, 6.0, "Drag the monitors to arrange them, then apply the new layout.")
    hits = [Hit(said, 0.5, "asr", "screencast.webm"), Hit(bar, 0.4, "ocr", "screencast.webm")]
    answer = generator.answer("What time does the clock in the top bar show during the screencast?", hits)
    assert answer.found and answer.short == "18:38"
    assert not generator.answer("What time does the presenter's flight leave?", hits).found
    radar = _seg("ocr", 3.0, 16.0, "WEATHER\nRADAR\nSUN 6:15PM")  # broadcast capitals: the time as written
    answer = generator.answer("What time does the clock on the radar show?", [Hit(radar, 0.5, "ocr", "weather.mp4")])
    assert answer.short == "6:15PM"


def test_a_heading_in_capitals_brings_the_lines_under_it(generator):
    block = _seg("ocr", 2.9, 3.4, "RECENT ITEMS\ndisplay-2monitors.png\nWikipedia")
    answer = generator.answer("What is listed under recent items?", [Hit(block, 0.6, "ocr", "desktop.webm")])
    assert "“RECENT ITEMS display-2monitors.png / Wikipedia”" in answer.text


def _line(text, box):
    return {"text": text, "raw": text, "confidence": 0.95, "frames": 3, "variants": [],
            "box": [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]}


def test_a_screen_label_is_quoted_with_the_value_beside_it(tmp_path, generator):
    """A settings screen: "Resolution:" stands in one record, its value to its right in others, and the
    value changes while the label stays: the quote gives each value with its time."""
    store = Store(tmp_path / "kb")
    labels = _seg("ocr", 4.3, 35.7, "Mirror displays\nResolution:\nRotation:")
    labels.meta["lines"] = [_line("Mirror displays", (0.19, 0.45, 0.30, 0.48)),
                            _line("Resolution:", (0.19, 0.61, 0.27, 0.64)), _line("Rotation:", (0.19, 0.65, 0.26, 0.67))]
    first = _seg("ocr", 8.5, 23.4, "1280 x 1024 (5:4)")
    first.meta["lines"] = [_line("1280 x 1024 (5:4)", (0.29, 0.61, 0.41, 0.64))]
    then = _seg("ocr", 26.7, 35.7, "1024 x 768 (4:3)")
    then.meta["lines"] = [_line("1024 x 768 (4:3)", (0.29, 0.61, 0.40, 0.64))]
    elsewhere = _seg("ocr", 8.5, 23.4, "Normal")  # beside "Rotation:", not "Resolution:"
    elsewhere.meta["lines"] = [_line("Normal", (0.29, 0.655, 0.34, 0.675))]
    store.segments.replace("v1", [labels, first, then, elsewhere], "m", 4)
    hits = with_context(store, [Hit(labels, 0.7, "ocr", "settings.webm")])  # the values were not retrieved
    answer = generator.answer("Which resolution is set in the display settings?", hits)
    assert "“Resolution: 1280 x 1024 (5:4) (00:08–00:23); 1024 x 768 (4:3) (00:26–00:35)”" in answer.text
    assert "Normal" not in answer.text.split("Resolution:")[1].split("”")[0]
    assert any(c["start"] <= 8.5 and c["end"] >= 35.0 for c in answer.citations)


def test_the_line_next_to_the_one_the_question_points_at(generator):
    """"What is printed next to the mirror displays checkbox?": the line on that row, not the checkbox's
    own words, which the question already says."""
    screen = _seg("ocr", 4.3, 35.7, "Mirror displays\nNote: may limit resolution options\nDetect Displays")
    screen.meta["lines"] = [_line("Mirror displays", (0.21, 0.58, 0.33, 0.61)),
                            _line("Note: may limit resolution options", (0.60, 0.58, 0.82, 0.61)),
                            _line("Detect Displays", (0.19, 0.73, 0.30, 0.76))]
    answer = generator.answer("What caveat is printed next to the mirror displays checkbox?",
                              [Hit(screen, 0.6, "ocr", "settings.webm")])
    assert answer.found and answer.text.splitlines()[0].startswith("“Note: may limit resolution options”")


@pytest.mark.parametrize("question,want", [
    ("According to the benefits card, what skin type is the sunscreen best for?", "ocr"),
    ("What is the title of the map behind the forecaster?", "ocr"),
    ("What did the analyst say to Glenn about the player?", "asr"),
    ("Which product feature is both said in the voice-over and listed on the benefits card?", None),
    ("How many goals is the player up to?", None),
    # what a thing on screen "says" is written there; what a person says is speech
    ("After the last change in the screencast, what does the single box in the arrangement area say?", "ocr"),
    ("What does the sign on the wall say?", "ocr"),
    ("What does the forecaster say about Sunday?", "asr"),
    ("After applying the change, what does the pop-up ask the user?", "ocr"),
])
def test_the_question_says_where_its_answer_is(question, want):
    assert asked_modality(question) == want


def test_the_kind_of_evidence_asked_for_leads(generator):
    """Two answers, one said and one shown: "on the card" quotes the card first, "what does the voice
    say" the speech; a question that says neither leads with the closer one (here the speech)."""
    said = Hit(_seg("asr", 3.0, 9.0, "It works for every kind of skin, even dry skin."), 0.6, "asr", "ad.mp4")
    shown = Hit(_seg("ocr", 14.6, 18.6, "KEY BENEFITS:\n*GREAT FOR NORMAL TO OILY SKIN"), 0.5, "ocr", "ad.mp4")
    on_card = generator.answer("According to the benefits card, which skin is the sunscreen for?", [said, shown])
    assert on_card.short == "GREAT FOR NORMAL TO OILY SKIN"
    assert on_card.text.splitlines()[1].startswith("“KEY BENEFITS: *GREAT FOR NORMAL TO OILY SKIN”")
    spoken = generator.answer("What does the voice say about which skin the sunscreen is for?", [said, shown])
    assert spoken.text.splitlines()[0].startswith("“It works for every kind of skin")
    neither = generator.answer("Which skin is the sunscreen for?", [said, shown])
    assert neither.text.splitlines()[0].startswith("“It works for every kind of skin")
    assert neither.text.count("OILY SKIN") == 1  # the card's line once, not again with its header


def test_a_misheard_name_does_not_hide_a_strong_answer(generator):
    """The transcript never says "Denise" (speech recognition dropped it) but the evidence is plainly
    the answer; a name the evidence lacks with weak evidence stays "not found"."""
    said = [Hit(_seg("asr", 8.6, 13.7, "Yeah, it certainly is. A lot of sunshine too, Ken, but as you can see behind "
                     "me, we also have active weather, just skirting the Bruce Peninsula."), 0.7, "asr", "weather.mp4")]
    assert generator.answer("What did Denise tell Ken about the weather?", said).found
    assert not generator.answer("What did Obama say about the Ubuntu release?", said).found


def test_people_read_file_names_not_absolute_paths():
    names = display_paths(["/data/a/talk.mp4", "/data/b/talk.mp4", "/x/y/ad.mp4", "../eval/clip.webm"])
    assert names == {"/data/a/talk.mp4": "a/talk.mp4", "/data/b/talk.mp4": "b/talk.mp4", "/x/y/ad.mp4": "ad.mp4",
                     "../eval/clip.webm": "clip.webm"}


@pytest.mark.parametrize("question,short_has,text_has", [
    ("By how much did TBI raise the risk of dementia?", "60", "60"),
    ("What are the key ingredients of the sunscreen?", "aloe", "marine extracts"),
    ("Which university does Brenda Plassman work at?", "duke", "duke"),
])
def test_real_recordings_answer_with_a_direct_short_answer(eval_kb, question, short_has, text_has):
    result = eval_kb.ask(question)
    data = result.to_json()
    assert data["found"] and short_has in data["answer_short"].lower(), data["answer"]
    assert text_has in data["answer"].lower() and data["answer"].splitlines()[0] == data["answer_short"]
    assert "/" not in data["answer"].split("—")[-1].split("@")[0]  # a file name, no folders
    assert all(c["path"] for c in data["citations"])


def test_speech_that_stops_mid_sentence_is_quoted_to_its_end(generator):
    """Whisper cut the sonnet's line before its last word ("...to thy sweet self too" / "cruel."):
    the quote runs on into the record that ends the sentence, though that one alone is no answer."""
    line = _seg("asr", 15.1, 29.7, "But thou, contracted to thine own bright eyes, feed'st thy light's flame with "
                                   "self-substantial fuel, making a famine where abundance lies, thyself thy foe, "
                                   "to thy sweet self too")
    end = _seg("asr", 29.7, 30.4, "cruel.")
    later = _seg("asr", 30.9, 43.5, "Thou that art now the world's fresh ornament, and only herald to the gaudy spring.")
    answer = generator.answer("What is the youth to his sweet self, according to the poem?",
                              [Hit(line, 0.5, "asr", "sonnet.mp3"), Hit(later, 0.3, "asr", "sonnet.mp3"),
                               Hit(end, 0.1, "asr", "sonnet.mp3")])
    assert answer.found and "to thy sweet self too cruel.”" in answer.text.splitlines()[0], answer.text
    assert answer.citations[0]["end"] == 30.4


def test_a_quote_sharing_only_its_run_on_sentence_is_still_quoted(generator):
    """Two spoken records: the second ends the first one's sentence and is quoted first (it scores
    best); the first, whose own words name the university, is still quoted, not dropped as a repeat."""
    named = _seg("asr", 1.0, 15.4, "Brenda Plassman, who's a colleague at Duke, has undertaken a really nice study "
                                   "of TBI in dementia in which she's used a creative use of the twin pair")
    rest = _seg("asr", 15.4, 21.9, "kind of study design. And this is sort of interesting because of the twins.")
    answer = generator.answer("Which university is the colleague who ran the twin study at?",
                              [Hit(rest, 0.5, "asr", "talk.mp4"), Hit(named, 0.4, "asr", "talk.mp4")])
    assert answer.found and "colleague at Duke" in answer.text, answer.text


def test_a_city_on_a_graphic_answers_which_city_without_the_word_city(generator):
    """"Which city's current conditions are on screen?": the graphic says "CURRENTLY-TORONTO" (its
    hyphen stands for a space) and never "city" nor "conditions"; that is the answer, not "not found"."""
    graphic = _seg("ocr", 3.0, 15.0, "CURRENTLY-TORONTO", video="v18")
    wind = _seg("ocr", 3.0, 15.0, "Partly Cloudy\nWind:SSW 27-37km/h", video="v18")
    said = _seg("asr", 0.0, 3.0, "Pearson yesterday three and a half degrees for an average high.", video="v20")
    answer = generator.answer(
        "Which city's current conditions are on screen while the forecaster talks about Pearson?",
        [Hit(graphic, 0.4, "ocr", "v18.mp4"), Hit(said, 0.4, "asr", "v20.mp4"), Hit(wind, 0.3, "ocr", "v18.mp4")])
    assert answer.found and answer.short.lower() == "toronto", answer.text


def test_what_the_question_sets_aside_is_not_the_answer(generator):
    """"Besides the head, what kind of contact was there?": the analyst's head-contact sentences are
    the closest to the words of the question, but the head is what it sets aside."""
    from vrag.retrievers.query_terms import excluded, without_aside

    assert excluded("Besides the head, what kind of contact was there?") == ["head"]
    assert excluded("Other than Toronto, which cities are mentioned?") == ["toronto"]
    assert without_aside("Besides the head, what kind of contact was there?") == "what kind of contact was there?"
    asked = _seg("asr", 2.0, 3.5, "Now, was there contact to the head?")
    reply = _seg("asr", 3.5, 5.0, "Absolutely, there was. But I believe the league would say this is unavoidable contact to the head.")
    body = _seg("asr", 10.4, 14.3, "A taller player, a smaller player. There was body on body contact.")
    hits = [Hit(s, 0.5, "asr", "hockey.mp4") for s in (asked, reply, body)]
    answer = generator.answer("Besides the head, what kind of contact was there?", hits)
    assert answer.found and answer.text.splitlines()[0].startswith("“A taller player, a smaller player. There was body"), answer.text


def test_what_a_speaker_wonders_about_is_quoted_with_the_questions_asked(generator):
    """"What possible causes did the speaker wonder about?": the causes are the questions the speaker
    goes on to ask, each its own sentence after the claim that matches the question best."""
    claim = _seg("asr", 47.2, 51.4, "It seems like it's non Alzheimer's disease dementia, and I think we need to understand more.")
    asks = _seg("asr", 51.7, 57.0, "What is that? Is it vascular? Is it CTE that's now met with aging?")
    after = _seg("asr", 57.4, 69.3, "We don't really know. But I think this evidence suggests that TBI is a very important risk factor.")
    hits = [Hit(s, 0.5, "asr", "talk.mp4") for s in (claim, after, asks)]
    answer = generator.answer("What possible causes did the speaker wonder about for the non-Alzheimer dementia?", hits)
    first = answer.text.splitlines()[0]
    assert answer.found and "Is it vascular? Is it CTE that's now met with aging?”" in first, answer.text


def test_what_is_both_said_and_shown_is_what_speech_and_screen_share(generator):
    """The ad says "dry finish technology" and its benefits card lists "*DRY FINISH TECHNOLOGY TM";
    nothing else is in both. That is the short answer, and the quotes are the two places."""
    from vrag.retrievers.crossmodal import asks_said_and_shown, shared_phrases

    question = "Which product feature is both said in the voice-over and listed on the benefits card?"
    assert asks_said_and_shown(question) and not asks_said_and_shown("What is listed on the benefits card?")
    assert shared_phrases([("ad", "*DRY FINISH TECHNOLOGY TM")],
                          [("ad", "our exclusive dry finish technology so that"), ("other", "dry finish technology")]
                          ) == ["dry finish technology"]
    assert shared_phrases([("ad", "DRY FINISH")], [("other", "dry finish")]) == []  # another video says it
    said = _seg("asr", 4.1, 10.5, "We incorporate our exclusive dry finish technology so that the sunscreen absorbs "
                                  "quickly without leaving your skin feeling greasy.", video="ad")
    card = _seg("ocr", 14.6, 19.4, "KEY BENEFITS:\n*GREAT FOR NORMAL TO OILY SKIN\n*DRY FINISH TECHNOLOGY TM\n"
                                   "*IDEAL UNDER MAKE-UP", video="ad")
    other = _seg("asr", 0.0, 4.0, "Everyone loves the way skin authority sunscreens feel when they go on.", video="ad")
    hits = [Hit(other, 0.5, "asr", "ad.mp4"), Hit(card, 0.4, "ocr", "ad.mp4"), Hit(said, 0.3, "asr", "ad.mp4")]
    answer = generator.answer(question, hits)
    assert answer.found and answer.short == "dry finish technology", answer.text
    assert {c["start"] for c in answer.citations} >= {4.1, 14.6}


def test_a_question_asking_for_several_names_lists_them(generator, nlp):
    """"Which towns ...?" is answered by every town the quote names, not by the first one."""
    assert asked_type("Which towns does the forecaster name?", nlp).plural
    assert not asked_type("Which town does the forecaster name first?", nlp).plural
    said = _seg("asr", 8.0, 18.0, "So areas such as Stouffville, into possibly as far south as Unionville, Markham "
                                  "and northern Ajax and Whitby may see a few scattered flurries.")
    answer = generator.answer("Which towns does the forecaster name as possibly getting flurries?",
                              [Hit(said, 0.6, "asr", "weather.mp4")])
    named = answer.short.split(", ")
    assert answer.found and len(named) >= 3 and {"Unionville", "Markham"} <= set(named), answer.short


def test_a_label_the_question_names_is_answered_with_its_figure(generator):
    """"What is the SPF ...?": the short answer is the label and its figure as the card writes them."""
    card = _seg("ocr", 2.0, 4.0, "MOISTURIZER\nSPF 30", video="ad")
    said = _seg("asr", 0.0, 3.0, "Everyone loves the way skin authority sunscreens feel when they go on.", video="ad")
    answer = generator.answer("What is the SPF of the advertised moisturizer?",
                              [Hit(card, 0.5, "ocr", "ad.mp4"), Hit(said, 0.3, "asr", "ad.mp4")])
    assert answer.found and answer.short == "SPF 30", answer.text
