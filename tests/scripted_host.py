"""The real model host, with the answer's text chosen by the test.

The host loads the real model, renders its real chat template and counts tokens with its real
tokenizer; only the words it writes come from a script, since a model can write anything and these
tests need particular things written. The script sees the prompt, as a model would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from desktop.core.settings import GenerationSettings
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent

Script = Callable[[str], Sequence[str]]  # prompt -> the pieces of the answer, streamed in order


class ScriptedHost(ModelHost):
    script: Script  # set by scripted_host()

    def __init__(self, *, data_dir: Path | None = None) -> None:
        super().__init__(data_dir=data_dir)
        self.prompts: list[str] = []

    def generate(
        self, prompt: str, settings: GenerationSettings, *, json_schema: str | None = None
    ) -> Iterator[TokenEvent | GenerationResult]:
        self.prompts.append(prompt)
        pieces = list(self.script(prompt))
        for piece in pieces:
            yield TokenEvent(text=piece)
        yield GenerationResult(
            text="".join(pieces), stopped=False, finish_reason="stop", prompt_tokens=self.count_tokens([prompt])[0],
            generated_tokens=len(pieces), time_to_first_token_ms=1.0, prompt_ms=1.0, generation_ms=1.0,
            tokens_per_second=float(len(pieces)),
        )


def scripted_host(script: Script) -> type[ScriptedHost]:
    """A ScriptedHost class that writes what ``script`` says; a class, so it can stand in for ModelHost."""
    return type("ScriptedHost", (ScriptedHost,), {"script": staticmethod(script)})
