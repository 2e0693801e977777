"""Chat requests for whole-document work: "summarise thesis.pdf", "list every date in contract.docx",
"compare draft.md and final.md". A request is taken only when it names indexed documents, so a
question such as "summarise the causes of the war" still goes to the answer pipeline."""

from __future__ import annotations

import re
from pathlib import Path

from desktop.core.document_task import DocumentTask, TaskKind, document_task
from desktop.core.types import DocumentInfo, DocumentStatus
from desktop.services.workspace import Workspace

_END = r"\s*[.?!]*\s*$"
_SUMMARY = re.compile(
    rf"^\s*(?:please\s+)?(?:summari[sz]e|sum up|give me a summary of|write a summary of)\s+(?P<name>.+?){_END}", re.I
)
_EXTRACT = re.compile(
    r"^\s*(?:please\s+)?(?:list|find|extract|show)(?:\s+me)?\s+(?:every|all(?:\s+the)?|each|the)\s+(?P<what>.+?)\s+"
    rf"(?:in|from|mentioned in)\s+(?P<name>.+?){_END}",
    re.I,
)
_COMPARE = re.compile(rf"^\s*(?:please\s+)?compare\s+(?P<names>.+?){_END}", re.I)
_JOINERS = re.compile(r"\s+(?:and|with|to|against|vs\.?)\s+", re.I)
_SYNONYMS = {
    "date": "dates", "dates": "dates", "amount": "amounts", "amounts": "amounts", "sums": "amounts",
    "prices": "amounts", "people": "people", "persons": "people", "person": "people", "names": "people",
    "deadline": "deadlines", "deadlines": "deadlines",
}


def document_request(question: str, workspace: Workspace) -> DocumentTask | None:
    """The task a chat message asks for, when it names indexed documents; else None."""
    documents = [d for d in workspace.registry.documents() if d.status == DocumentStatus.INDEXED]
    if not documents:
        return None
    if match := _SUMMARY.match(question):
        path = _named(match["name"], documents)
        return document_task(TaskKind.SUMMARY, [path]) if path else None
    if match := _EXTRACT.match(question):
        path = _named(match["name"], documents)
        what = " ".join(match["what"].split())
        return document_task(TaskKind.EXTRACT, [path], _SYNONYMS.get(what.lower(), what)) if path else None
    if match := _COMPARE.match(question):
        names = match["names"]
        for joiner in _JOINERS.finditer(names):
            first, second = _named(names[: joiner.start()], documents), _named(names[joiner.end() :], documents)
            if first and second and first != second:
                return document_task(TaskKind.COMPARE, [first, second])
    return None


def _named(name: str, documents: list[DocumentInfo]) -> str | None:
    """The one indexed document a name means: its file name or the end of its path, in any case."""
    wanted = name.strip().strip("\"'`“”‘’").strip().casefold()
    if not wanted:
        return None
    matches = [d.path for d in documents if Path(d.path).name.casefold() == wanted
               or d.path.casefold().endswith("/" + wanted)]
    return matches[0] if len(matches) == 1 else None

