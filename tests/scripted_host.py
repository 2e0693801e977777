"""The real model host, with the answer's text chosen by the test.

The host loads the real model, renders its real chat template and counts tokens with its real
tokenizer; only the words it writes come from a script, since a model can write anything and these
tests need particular things written, or an answer long enough to interrupt, without waiting on
real generation. The script sees the prompt, as a model would.

Every piece the script gives is streamed (``max_tokens`` does not cut a script: a piece is not a
token), unless the host is cancelled first, as the model would be. With no script the real model
writes the answer, so one window can serve both scripted tests and end-to-end ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from desktop.core.settings import GenerationSettings
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent

Script = Callable[[str], Iterable[str]]  # prompt -> the pieces of the answer, streamed in order


class ScriptedHost(ModelHost):
    script: Script | None = None  # set by scripted_host(); None: the real model answers
    delay_s: float = 0.0  # between pieces: a stream slow enough to stop mid-way, like a real model's

    def __init__(self, *, data_dir: Path | None = None) -> None:
        super().__init__(data_dir=data_dir)
        self.prompts: list[str] = []
        self.banned_line_starts: list[tuple[str, ...]] = []  # what each scripted answer was asked to avoid
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()
        super().cancel()

    def generate(
        self,
        prompt: str,
        settings: GenerationSettings,
        *,
        json_schema: str | None = None,
        banned_line_starts: tuple[str, ...] = (),
    ) -> Iterator[TokenEvent | GenerationResult]:
        script = type(self).script  # read once: a test may switch it while another answer ends
        if script is None:
            yield from super().generate(
                prompt, settings, json_schema=json_schema, banned_line_starts=banned_line_starts
            )
            return
        self.prompts.append(prompt)
        self.banned_line_starts.append(banned_line_starts)
        self._cancelled.clear()  # as the real host does: a cancel before the question is forgotten
        pieces: list[str] = []
        for piece in script(prompt):
            if self._cancelled.is_set():
                break
            pieces.append(piece)
            yield TokenEvent(text=piece)
            if self.delay_s:
                self._cancelled.wait(self.delay_s)
        stopped = self._cancelled.is_set()
        yield GenerationResult(
            text="".join(pieces), stopped=stopped, finish_reason="cancelled" if stopped else "stop",
            prompt_tokens=self.count_tokens([prompt])[0],
            generated_tokens=len(pieces), time_to_first_token_ms=1.0, prompt_ms=1.0, generation_ms=1.0,
            tokens_per_second=float(len(pieces)),
        )


def scripted_host(script: Script | None, *, delay_s: float = 0.0) -> type[ScriptedHost]:
    """A ScriptedHost class that writes what ``script`` says; a class, so it can stand in for ModelHost."""
    return type("ScriptedHost", (ScriptedHost,), {"script": staticmethod(script) if script else None,
                                                  "delay_s": delay_s})
