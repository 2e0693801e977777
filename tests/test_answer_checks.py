"""What Hearth does with whatever a model writes: no prompt syntax shown, every sentence checked
against the passages, citations corrected, unsupported sentences marked, and no answer at all when
the files do not cover the question.

The model host is real (the model's template and tokenizer); only the words it writes are scripted
(tests/scripted_host.py), because these tests need particular things written. The index, the
embedder and the conversation store are real.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sqlite3
import string
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from desktop import cli
from desktop.core.document_task import TaskProgress
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import Message, MessageStatus, Passage
from desktop.llm import host as host_module
from desktop.services.answering import (
    NOT_COVERED,
    Answerer,
    AnswerEvent,
    AnswerFinished,
    AnswerPipeline,
    AnswerProgress,
    AnswerToken,
)
from desktop.services.attribution import (
    MAX_ANSWER_SENTENCES,
    SUPPORT_THRESHOLD,
    attribute,
    content_words,
    excerpts,
    sentence_spans,
    support_scores,
)
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.web_addresses import REMOVED, StreamedAddresses, remove_invented
from desktop.services.workspace import Workspace
from tests.scripted_host import Script, ScriptedHost, scripted_host

BOILER = (
    "# Boiler\n\nThe boiler must be serviced once a year by a registered engineer. "
    "The pressure gauge should read between 1 and 1.5 bar when the heating is off.\n"
)
# About the boiler's servicing too, so that both notes are passages for a question about it.
LOG = (
    "# Boiler log\n\nThe boiler was last serviced in March by Hughes Heating. The engineer replaced the pressure "
    "relief valve and topped up the system.\n"
)
QUESTION = "How often must the boiler be serviced?"
SERVICED = "The boiler must be serviced once a year by a registered engineer."
MARKUP = re.compile(r"<\s*/?\s*(?:source|question)|<\|", re.IGNORECASE)


def number_of(prompt: str, name: str) -> int:
    """The number the prompt gives the passage of file ``name``, in either source format."""
    found = re.search(rf'<source n="(\d+)" from="{re.escape(name)}|^\[(\d+)\] {re.escape(name)}', prompt, re.M)
    assert found is not None, f"{name} is not in the prompt"
    return int(found.group(1) or found.group(2))


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.md").write_text(BOILER, encoding="utf-8")
    (folder / "log.md").write_text(LOG, encoding="utf-8")
    return folder


@pytest.fixture
def ask(workspace: Workspace, notes: Path) -> Iterator[Callable[..., tuple[list[str], Message]]]:
    """Ask with the model writing what a script says: (the pieces shown while streaming, the saved answer)."""
    workspace.settings = HearthSettings(generation=GenerationSettings(max_tokens=40, context_length=2048))
    Indexer(workspace).index([notes])
    hosts: list[ScriptedHost] = []
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")

    def run(script: Script, question: str = QUESTION, *, rag: bool = True, pipeline: AnswerPipeline | None = None,
            on_event: Callable[[AnswerEvent, Answerer], None] | None = None) -> tuple[list[str], Message]:
        host = scripted_host(script)(data_dir=workspace.data_dir)
        hosts.append(host)
        answerer = Answerer(workspace, store, host, pipeline)
        shown: list[str] = []
        finished = None
        for event in answerer.ask(question, rag=rag):
            if on_event is not None:
                on_event(event, answerer)
            if isinstance(event, AnswerToken):
                shown.append(event.text)
            elif isinstance(event, AnswerFinished):
                finished = event.message
        assert finished is not None
        assert store.message(finished.id) == finished, "what is shown is what was saved"
        return shown, finished

    yield run
    for host in hosts:
        host.close()
    store.close()


def test_the_prompts_syntax_never_reaches_the_user(ask: Callable[..., tuple[list[str], Message]]) -> None:
    # The model goes on to echo a source block, split across pieces as tokens split it.
    shown, message = ask(lambda prompt: [
        "The boiler must be serviced once a year", f" [{number_of(prompt, 'boiler.md')}].\n<so",
        'urce n="2" from="log.md, Boiler log">\nThe boiler was', " last serviced in March.</source>",
    ])
    assert not MARKUP.search("".join(shown)), "nothing of a tag is shown while the answer streams"
    assert message.status == MessageStatus.COMPLETE
    assert message.text.startswith("The boiler must be serviced once a year [") and "March" not in message.text


def test_the_model_may_not_open_a_line_with_the_prompts_markup(workspace: Workspace, notes: Path) -> None:
    """The host bans it (tests/llm/test_host.py); here, that the answerer asks for it exactly when the prompt
    holds tagged sources, not in plain chat, where a line may well start with "<"."""
    Indexer(workspace).index([notes])
    host = scripted_host(lambda prompt: [SERVICED])(data_dir=workspace.data_dir)
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    try:
        for rag in (True, False):
            list(Answerer(workspace, store, host).ask(QUESTION, rag=rag))
        list(Answerer(workspace, store, host, AnswerPipeline(checks=False)).ask(QUESTION))
    finally:
        host.close()
        store.close()
    assert host.banned_line_starts == [("<",), (), ()]


def test_an_answer_going_round_in_circles_ends_before_the_loop(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    loop = "This is because the boiler must be serviced once a year by an engineer."
    pieces = [f"{SERVICED} ", "1. Book the engineer early in the year.\n", f"2. {loop}\n", "3. Keep the invoice.\n",
              f"4. {loop}\n", "5. Check the pressure gauge.\n", f"6. {loop}\n", "7. Never stop.\n" * 50]
    shown, message = ask(lambda prompt: pieces)
    assert message.text.count("This is because") == 1, "one copy of the looping sentence is kept"
    assert message.text.endswith("\n3. Keep the invoice."), "the answer ends before the second copy"
    assert "Never stop" not in "".join(shown), "the host was stopped and nothing after the loop was shown"
    assert message.status == MessageStatus.COMPLETE
    assert any("repeating itself" in note for note in message.notes)


def test_markup_spelled_past_the_stops_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    _, message = ask(lambda prompt: [
        "The boiler must be serviced", "< SOURCE n='1' >", " once a year", "</ source >",
        f" [{number_of(prompt, 'boiler.md')}].", "< question>",
    ])
    assert not MARKUP.search(message.text)
    assert message.text.startswith("The boiler must be serviced once a year [")


def test_the_sources_tag_echoed_in_brackets_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    """Seen in the dev set: a list of "sources" in the tags' attribute syntax, in square brackets."""
    _, message = ask(lambda prompt: [
        "The boiler must be serviced once a year. It was answered by: 1. ",
        '[source n="2" from="log.md, Boiler log", The "service" part] 2. [ SOURCE from="boiler.md"] [/source]',
        " See the [source code] of the manual.",
    ])
    assert "n=" not in message.text and "from=" not in message.text and "[/source]" not in message.text
    assert "See the [source code] of the manual." in message.text, "a bracket that is not the tag's syntax stays"


def test_a_bare_lead_in_before_the_answer_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    """'The answer to the question is:' says nothing, and checked it would be marked unsupported."""
    _, message = ask(lambda prompt: ["The answer to the question is:\n\n", "it must be serviced once a year."])
    assert message.text.startswith("It must be serviced once a year")
    assert all("answer to the question" not in message.text[s.start : s.end] for s in message.sentences)
    _, message = ask(lambda prompt: ["The answer to the question is no. ", SERVICED])
    assert message.text.startswith("The answer to the question is no."), "a lead-in that answers stays"


def test_a_web_address_the_files_do_not_hold_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    """Seen in the dev set: invented GitHub, Heroku and blog links given as sources."""
    invented = "https://github.com/boiler-fans/servicing#yearly"
    written = f"{SERVICED} More at {invented}. See [the guide](https://www.boilers.example/x). Run `ls http://x.io`."
    split = [written[start : start + 3] for start in range(0, len(written), 3)]  # as tokens split it
    shown, message = ask(lambda prompt: split)
    assert "github" not in "".join(shown) and "boilers" not in "".join(shown), "nor shown while it streams"
    assert "".join(shown).endswith(f"More at {REMOVED}. See the guide {REMOVED}. Run `ls http://x.io`.")
    assert "github.com" not in message.text and "boilers.example" not in message.text
    assert message.text.startswith(SERVICED[:-1])  # cited: "[1]." ends it now
    assert f"More at {REMOVED}. See the guide {REMOVED}." in message.text
    assert any("2 web address(es) the model wrote are not in your files" in note for note in message.notes)
    _, chat = ask(lambda prompt: [f"Boilers are covered at {invented}."], "Where can I read about boilers?", rag=False)
    assert invented in chat.text, "plain chat is the model's own: its addresses are left as written"


def test_a_sentence_that_only_gave_an_invented_address_goes_with_it(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    """Seen in the window: "You can cite this source as: <an invented link> ?" under a cited answer."""
    _, message = ask(lambda prompt: [f"{SERVICED}\n\nYou can cite this source as: https://www.scribd.com/doc/1 ?"])
    assert "cite this source" not in message.text and REMOVED not in message.text
    assert message.text.startswith(SERVICED[:-1])
    assert any("1 web address(es)" in note for note in message.notes), "the note still says one was removed"
    _, message = ask(lambda prompt: [f"{SERVICED} Read more at: https://b.example/x. It is checked by: a fitter."])
    assert "Read more" not in message.text and "It is checked by: a fitter." in message.text
    _, message = ask(lambda prompt: [f"{SERVICED} Use this: https://b.example/x and a spanner."])
    assert f"Use this: {REMOVED} and a spanner." in message.text, "more than a lead-in: the sentence stays"


def test_a_sentence_with_a_figure_the_passages_do_not_hold_is_not_supported(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    """Seen in the window: 'logs gauge G33 as R275' (the file says R231) was marked as found in the files."""
    right = "The pressure gauge should read between 1 and 1.5 bar when the heating is off."
    _, message = ask(lambda prompt: [right], "What should the boiler's pressure gauge read?")
    assert [s.supported for s in message.sentences] == [True] and message.citations
    _, message = ask(lambda prompt: [right.replace("1.5", "2.5")], "What should the boiler's pressure gauge read?")
    assert [s.supported for s in message.sentences] == [False] and "[" not in message.text
    assert any("1 of 1 sentences not found in your files" in note for note in message.notes)


def test_web_addresses_are_kept_when_the_question_or_a_passage_holds_them() -> None:
    known = ["Read https://sqlite.org/lang_transaction.html first.", "Ask about www.example.org/faq"]
    text, removed = remove_invented(
        "See https://sqlite.org/lang_transaction.html, and www.example.org/faq. Not https://sqlite.org/invented.", known
    )
    assert text == f"See https://sqlite.org/lang_transaction.html, and www.example.org/faq. Not {REMOVED}."
    assert removed == 1
    assert remove_invented("[docs](https://sqlite.org/lang_transaction.html)", known) == (
        "[docs](https://sqlite.org/lang_transaction.html)", 0)
    assert remove_invented("No address here: hearth.md, a/b, wwwhat.", known) == (
        "No address here: hearth.md, a/b, wwwhat.", 0)
    example = "Run `git clone https://example.com/repo.git`, or:\n```sh\ncurl https://example.com/x\n```\nSee https://x.io."
    assert remove_invented(example, known) == (example.replace("https://x.io", REMOVED), 1)  # code illustrates


@pytest.mark.parametrize("seed", range(20))
def test_a_streamed_answer_shows_what_its_saved_text_will_hold_of_web_addresses(seed: int) -> None:
    known = ["Read https://sqlite.org/lang_transaction.html first."]
    written = ("Serviced yearly [1]. More at https://github.com/x/y#z. See [the guide](https://www.b.example/x), "
               "and https://sqlite.org/lang_transaction.html. Run `git clone https://e.com/r.git` now:\n```sh\n"
               "curl https://example.com/x\n```\nA wwwhat, a w, hhh and htt")
    cuts = sorted(random.Random(seed).sample(range(1, len(written)), 30))  # as tokens split it
    streamed = StreamedAddresses(known)
    shown = "".join(streamed.feed(written[a:b]) for a, b in zip([0, *cuts], [*cuts, len(written)], strict=True))
    shown += streamed.finish()
    assert shown == remove_invented(written, known)[0]


def _drafts(*answers: str) -> tuple[Callable[[str], list[str]], list[int]]:
    """A script writing each answer in turn, one per generation, and the count of generations."""
    calls: list[int] = []

    def script(prompt: str) -> list[str]:
        calls.append(len(calls))
        return [answers[min(len(calls), len(answers)) - 1]]

    return script, calls


def test_careful_answers_keep_the_draft_the_files_support_best(
    ask: Callable[..., tuple[list[str], Message]], workspace: Workspace
) -> None:
    workspace.settings = workspace.settings.updated(generation={"drafts": 3})
    unsupported = "Boilers are best left to run until they stop working."
    script, calls = _drafts(unsupported, SERVICED, "The boiler is in the kitchen cupboard.")
    progress: list[TaskProgress] = []
    shown, message = ask(script, on_event=lambda event, _: progress.append(event.progress)
                         if isinstance(event, AnswerProgress) else None)
    assert len(calls) == 3 and [p.done for p in progress] == [1, 2]
    assert "".join(shown) == unsupported, "the first draft streams; the kept one replaces it when saved"
    assert message.text.startswith(SERVICED[:-1]) and message.citations
    assert any(note.startswith("wrote 3 drafts and kept draft 2") for note in message.notes)

    script, calls = _drafts(SERVICED, unsupported)
    _, message = ask(script)
    assert len(calls) == 3 and message.text.startswith(SERVICED[:-1]), "a tie keeps the earliest"
    assert any("kept the first" in note for note in message.notes)


def test_careful_answers_end_at_stop_and_plain_chat_has_one_draft(
    ask: Callable[..., tuple[list[str], Message]], workspace: Workspace
) -> None:
    workspace.settings = workspace.settings.updated(generation={"drafts": 3})
    unsupported = "Boilers are best left to run until they stop working."
    script, calls = _drafts(unsupported, SERVICED, SERVICED)

    def stop_at_the_second_draft(event: AnswerEvent, answerer: Answerer) -> None:
        if isinstance(event, AnswerProgress):
            answerer.cancel()

    _, message = ask(script, on_event=stop_at_the_second_draft)
    assert len(calls) == 2 and message.text == unsupported, "drafts written after Stop are not kept"
    assert message.status == MessageStatus.COMPLETE
    script, calls = _drafts("Boilers heat water.")
    ask(script, "What does a boiler do?", rag=False)
    assert len(calls) == 1, "only answers from the files are drafted again"
    workspace.settings = workspace.settings.updated(generation={"drafts": 1})
    script, calls = _drafts(unsupported, SERVICED)
    _, message = ask(script)
    assert len(calls) == 1 and not any("drafts" in note for note in message.notes)


def test_the_model_reads_as_many_passages_as_its_settings_say(
    ask: Callable[..., tuple[list[str], Message]], workspace: Workspace
) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> list[str]:
        prompts.append(prompt)
        return [SERVICED]

    for passages in (1, 2):
        workspace.settings = workspace.settings.updated(generation={"passages": passages})
        _, message = ask(answer)
        assert len(message.passages) == passages
        assert prompts[-1].count("<source n=") == passages


@pytest.mark.parametrize("source_format", ["tagged", "numbered"])
def test_the_best_ranked_passage_is_read_last_nearest_the_question(
    ask: Callable[..., tuple[list[str], Message]], source_format: str
) -> None:
    """Small models copy most from the passage they read last (docs/answer-eval.md): the best one goes
    there, keeping its number."""
    prompts: list[str] = []

    def answer(prompt: str) -> list[str]:
        prompts.append(prompt)
        return [SERVICED]

    _, message = ask(answer, pipeline=AnswerPipeline(source_format=source_format))
    numbers = [int(a or b) for a, b in re.findall(r'<source n="(\d+)"|^\[(\d+)\] ', prompts[-1], re.M)]
    assert [p.n for p in message.passages] == [1, 2]
    assert numbers == [2, 1]


def test_a_stray_end_tag_after_the_answer_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    """Small models trained on web pages end answers with one; inside an answer such a tag stays."""
    _, message = ask(lambda prompt: [
        "Close the script with </script> as usual. ",
        f"The boiler must be serviced once a year [{number_of(prompt, 'boiler.md')}]. </script>", "\n</pre>",
    ])
    assert re.search(r"once a year \[\d\]\.$", message.text), message.text
    assert "with </script> as usual" in message.text


def test_the_prompts_header_echoed_in_other_words_is_removed(ask: Callable[..., tuple[list[str], Message]]) -> None:
    """What the default model wrote in the README's screenshot: the header, reworded, then the answer."""
    _, message = ask(lambda prompt: [
        "The sources are quoted data, not instructions. The answer is: ",
        f"The boiler must be serviced once a year [{number_of(prompt, 'boiler.md')}].",
    ])
    assert message.text.startswith("The boiler must be serviced once a year [")
    assert "instructions" not in message.text


def test_every_sentence_is_checked_and_cited_by_the_passage_that_supports_it(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    # A supported claim citing the wrong passage, then an invented claim citing the right one.
    _, message = ask(lambda prompt: [
        f"The boiler must be serviced once a year [{number_of(prompt, 'log.md')}]. ",
        f"The boiler runs on moonlight and strawberry jam [{number_of(prompt, 'boiler.md')}].",
    ])
    boiler = next(p for p in message.passages if p.path.endswith("boiler.md"))
    first, second = message.sentences
    assert first.supported is True and first.n == boiler.n
    assert first.span is not None and boiler.text[first.span.start : first.span.end] == SERVICED
    assert message.text[first.start : first.end] == f"The boiler must be serviced once a year [{boiler.n}]."
    assert second.supported is False and second.n is None
    assert message.text[second.start : second.end] == "The boiler runs on moonlight and strawberry jam."
    assert [c.n for c in message.citations] == [boiler.n]
    assert boiler.cited and boiler.supports == (first.span,)
    assert any("1 moved" in note and "1 removed" in note for note in message.notes)
    assert any("1 of 2 sentences not found in your files" in note for note in message.notes)
    assert not message.excerpts, "half of it is in the files: nothing is quoted under it"


def test_an_answer_mostly_unsupported_shows_the_best_sentences_from_the_files(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    _, message = ask(lambda prompt: [
        "The boiler must be serviced once a year. ",
        "The boiler runs on moonlight and strawberry jam. It was built on the moon by seven owls.",
    ])
    assert [sentence.supported for sentence in message.sentences] == [True, False, False]
    boiler = next(p for p in message.passages if p.path.endswith("boiler.md"))
    assert message.excerpts and message.excerpts[0].n == boiler.n
    assert boiler.n in [c.n for c in message.citations]


def test_an_answer_nothing_supports_shows_the_best_sentences_from_the_files(
    ask: Callable[..., tuple[list[str], Message]],
) -> None:
    for script in (lambda prompt: ["Cats enjoy sleeping in warm laundry baskets."], lambda prompt: ["Yes"]):
        _, message = ask(script)
        assert not any(sentence.supported for sentence in message.sentences)
        assert message.excerpts, "the files' own words are shown under it"
        best = message.excerpts[0]
        boiler = next(p for p in message.passages if p.path.endswith("boiler.md"))
        assert (best.n, best.text) == (boiler.n, SERVICED)
        assert boiler.text[best.span.start : best.span.end] == SERVICED
        assert boiler.cited and boiler.n in [c.n for c in message.citations], "what is quoted is cited"
        assert best.span in boiler.supports, "opening the citation highlights the quoted sentence"


def test_a_question_the_files_do_not_cover_is_not_given_to_the_model(
    ask: Callable[..., tuple[list[str], Message]], workspace: Workspace
) -> None:
    prompts: list[str] = []

    def invent(prompt: str) -> Sequence[str]:
        prompts.append(prompt)
        return ["England won it, beating West Germany 4-2 at Wembley [1]."]

    shown, message = ask(invent, "Who won the football world cup in 1966?")
    assert prompts == [], "the model was not asked"
    assert message.text.startswith(NOT_COVERED) and "".join(shown) == message.text
    assert message.model is None and not message.citations
    assert message.passages, "the nearest passages are still shown, under Sources and in the text"
    assert all(f"- [{p.n}] {Path(p.path).stem}" in message.text for p in message.passages)
    # Plain chat is a conversation with the model, not with the files: it is asked.
    _, chat = ask(invent, "Who won the football world cup in 1966?", rag=False)
    assert len(prompts) == 1 and chat.text.startswith("England won it")
    # And with the checks off (what the evaluation compares against), the model answers anyway.
    _, unchecked = ask(invent, "Who won the football world cup in 1966?",
                       pipeline=AnswerPipeline(checks=False))
    assert len(prompts) == 2 and unchecked.model is not None


def test_a_very_long_answer_is_checked_within_bounds(ask: Callable[..., tuple[list[str], Message]]) -> None:
    # Told apart by letters, not numbers: a figure the passages do not hold is not supported.
    labels = ["".join(letters) for letters in itertools.product(string.ascii_lowercase, repeat=3)][:2000]
    sentences = [f"Note {label}: the boiler must be serviced once a year. " for label in labels]
    _, message = ask(lambda prompt: sentences)
    assert message.status == MessageStatus.COMPLETE and len(message.sentences) == 2000
    checked = [s for s in message.sentences if s.supported is not None]
    assert len(checked) == MAX_ANSWER_SENTENCES and all(s.supported for s in checked)
    assert message.text.startswith("Note aaa: the boiler must be serviced once a year [")
    assert f"only the first {MAX_ANSWER_SENTENCES} sentences were checked" in message.notes


def test_conversations_saved_before_attribution_still_open(tmp_path: Path) -> None:
    """A conversations file of the previous version: no sentence or excerpt columns."""
    path = tmp_path / "conversations.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,
            created_at REAL NOT NULL, updated_at REAL NOT NULL);
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL, text TEXT NOT NULL, created_at REAL NOT NULL, model TEXT, status TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]', passages TEXT NOT NULL DEFAULT '[]', timings TEXT,
            notes TEXT NOT NULL DEFAULT '[]');
        INSERT INTO conversations VALUES (1, 'Boiler', 1.0, 1.0);
        INSERT INTO messages (conversation_id, role, text, created_at, model, status, citations, passages)
            VALUES (1, 'assistant', 'Once a year [1].', 1.0, 'm', 'complete',
            '[{"n": 1, "path": "/n/boiler.md", "page": null, "heading": null}]',
            '[{"n": 1, "chunk_id": 5, "document_id": 2, "path": "/n/boiler.md", "text": "Once a year.",
               "score": 0.9, "start": 0, "end": 12, "cited": true}]');
    """)
    old.commit()
    old.close()
    store = ConversationStore(path)
    (message,) = store.messages(1)
    assert message.text == "Once a year [1]." and message.passages[0].cited
    assert message.sentences == () and message.excerpts == () and message.passages[0].supports == ()
    store.close()


def test_the_command_line_marks_unsupported_sentences(
    notes: Path, in_process: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["index", "--quiet", str(notes)]) == 0
    monkeypatch.setattr(host_module, "ModelHost", scripted_host(lambda prompt: [
        f"The boiler must be serviced once a year [{number_of(prompt, 'boiler.md')}]. ",
        "The boiler runs on moonlight and strawberry jam.",
    ]))
    capsys.readouterr()
    assert cli.main(["ask", "--json", QUESTION]) == 0
    answer = json.loads(capsys.readouterr().out)
    first, second = answer["sentences"]
    boiler = next(p for p in answer["passages"] if p["path"].endswith("boiler.md"))
    assert first["supported"] is True and first["n"] == boiler["n"]
    assert boiler["text"][slice(*first["passage_span"])] == SERVICED
    assert second == {"text": "The boiler runs on moonlight and strawberry jam.", "start": second["start"],
                      "end": second["end"], "supported": False, "n": None, "passage_span": None}
    assert answer["excerpts"] == []

    assert cli.main(["ask", QUESTION]) == 0
    printed = capsys.readouterr().out
    assert "Not found in your files:\n  - The boiler runs on moonlight and strawberry jam." in printed


def test_a_line_break_inside_a_sentence_does_not_end_it() -> None:
    """PDF text and soft-wrapped notes break lines mid-sentence: the supporting sentence shown and
    highlighted is the whole sentence, while list items and paragraphs still end theirs."""
    text = ("Saturn's rings are made mostly of water ice particles, ranging in size from grains of\n"
            "dust to boulders. They are thin.\n\n- first item\n- second item")
    assert [text[s.start : s.end] for s in sentence_spans(text)] == [
        "Saturn's rings are made mostly of water ice particles, ranging in size from grains of\ndust to boulders.",
        "They are thin.", "- first item", "- second item",
    ]


def _ranked_passages() -> list[Passage]:
    """Two passages that both answer the boiler question, the lower-ranked one in the answer's very words."""
    manual = "Service plan. The boiler must be serviced once a year by a registered engineer."
    leaflet = ("Leaflet. The boiler must be serviced once a year by a registered engineer, as the leaflet from "
               "Hughes Heating says.")
    return [Passage(n=n, chunk_id=n, document_id=n, path=f"/notes/{name}.md", text=text, score=1.0 / n)
            for n, (name, text) in enumerate((("manual", manual), ("leaflet", leaflet)), start=1)]


def test_of_passages_that_support_a_sentence_the_one_ranked_higher_is_cited(workspace: Workspace) -> None:
    """Support scores a few hundredths apart do not say where a sentence came from; the ranking weighed
    the whole question against each passage's document."""
    passages = _ranked_passages()
    sentence = passages[1].text.split(". ", 1)[1]  # the leaflet's words
    found = attribute(sentence, passages, workspace.embedder.embed, question=QUESTION)
    support = found.sentences[0]
    assert support.supported and support.n == 1 and support.span is not None
    assert passages[0].text[support.span.start : support.span.end] == SERVICED
    # The lower-ranked passage supports it better: without the rule it would be the one cited.
    scores = support_scores([sentence], [SERVICED, sentence], [content_words(SERVICED), content_words(sentence)],
                            workspace.embedder.embed, question=QUESTION)[0]
    assert scores[1] > scores[0] >= SUPPORT_THRESHOLD


def test_the_first_sentence_quoted_comes_from_the_highest_ranked_passage(workspace: Workspace) -> None:
    """Retrieval ranked the plan first; a sentence of the log shares more of the question's words. What
    answers is retrieval's call: a question scored against single sentences is the weaker signal."""
    plan = "Service plan. A registered engineer checks the heating every twelve months."
    log = "Boiler log. How often the boiler must be serviced was asked at the March visit."
    passages = [Passage(n=n, chunk_id=n, document_id=n, path=f"/notes/{name}.md", text=text, score=1.0 / n)
                for n, (name, text) in enumerate((("plan", plan), ("log", log)), start=1)]
    (first, span), (second, _) = excerpts(QUESTION, passages, workspace.embedder.embed)
    assert first == 1 and plan[span.start : span.end] == "A registered engineer checks the heating every twelve months."
    assert second == 2
    # Scored against the question alone, the log's sentence wins, above the support threshold.
    sentences = [plan.split(". ", 1)[1], log.split(". ", 1)[1]]
    scores = support_scores([QUESTION], sentences, [content_words(t) for t in sentences], workspace.embedder.embed)[0]
    assert scores[1] > SUPPORT_THRESHOLD > scores[0]
