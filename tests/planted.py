"""Passages on planted subjects, written from small vocabularies: the topic map and the drift test
must recover them. And a note written twice, edited once, and a related one: the copies to find."""

from __future__ import annotations

import random
from pathlib import Path

SUBJECTS: dict[str, tuple[list[str], list[str]]] = {
    "baking": (
        ["The sourdough", "My bread dough", "The rye loaf", "A brioche", "The pizza base", "The starter"],
        ["needs flour, water and salt kneaded for ten minutes", "rises overnight in a warm kitchen",
         "bakes at 230 degrees until the crust is brown", "gets more yeast when the oven is cold",
         "is proofed in a floured basket before baking", "keeps its crumb soft with butter and milk"],
    ),
    "astronomy": (
        ["Saturn", "The Andromeda galaxy", "Jupiter's moon Europa", "The Orion nebula", "A red dwarf star", "Mars"],
        ["is visible through a small telescope after dusk", "orbits far beyond the asteroid belt",
         "shines brightest near opposition in the night sky", "was photographed by the space probe last year",
         "has rings of ice that reflect sunlight", "lies thousands of light years from Earth"],
    ),
    "tax": (
        ["The income tax return", "My VAT invoice", "The capital gains form", "The pension deduction",
         "The self-assessment", "The payroll statement"],
        ["is due to the revenue office by the end of January", "lists deductible expenses for the fiscal year",
         "needs the employer's reference number and salary", "was audited by the tax inspector",
         "claims a rebate on the mortgage interest", "reports dividends and the withholding tax paid"],
    ),
    "cycling": (
        ["The road bike", "My chain", "The rear derailleur", "The tubeless tyre", "The disc brake", "The saddle"],
        ["needs oiling after every wet ride", "was adjusted so the gears shift cleanly",
         "holds 80 psi for a smooth ride on the road", "squeals when the pads are worn",
         "is set at hip height for long climbs", "was replaced after 3000 kilometres"],
    ),
}


def passages(subject: str, count: int, *, seed: int) -> list[str]:
    rng = random.Random(f"{subject}-{seed}")
    subjects, predicates = SUBJECTS[subject]
    return [
        f"{rng.choice(subjects)} {rng.choice(predicates)}. {rng.choice(subjects)} {rng.choice(predicates)}."
        for _ in range(count)
    ]


# Near-duplicate documents: one note about the boiler written as Markdown and as HTML, a copy of it
# with a few words changed, and another note on the same subject (related, not a copy).
BOILER = [
    "The boiler in the utility room is a Vaillant ecoTEC plus, installed in March 2019 by the plumber "
    "from the village. It heats the radiators and the hot water cylinder in the airing cupboard.",
    "If the pressure gauge on the front panel drops below one bar, open the filling loop under the boiler "
    "slowly until the needle reaches one and a half bar, then close both valves again and check for drips.",
    "Error code F22 means the water pressure is too low; error code F28 means the gas supply failed to "
    "ignite. Reset the boiler with the button on the left after fixing the cause, never more than twice.",
    "The annual service is due every October. The engineer cleans the burner, checks the flue gases with an "
    "analyser and replaces the seal on the combustion chamber. Keep the certificate for the insurance.",
    "In winter the thermostat in the hall is set to twenty degrees during the day and sixteen at night. The "
    "frost protection setting keeps the pipes above five degrees when we are away for the holidays.",
]
EDITS = {"March 2019": "April 2019", "twice": "three times", "October": "November", "hall": "landing"}
BOILER_SERVICE = [
    "Boiler service booked with Hartley Heating for the second week of November. They asked for clear "
    "access to the utility room and for the cat to be kept out of the way during the visit.",
    "Last year's visit found a worn ignition electrode and a slightly blocked condensate trap. Both were "
    "replaced, and the engineer recommended a magnetic filter on the return pipe to catch sludge.",
    "The quote for a new filter is one hundred and forty pounds fitted. The landlord agreed to pay half, "
    "as long as the receipt is sent to the letting agent before the end of the month.",
]


def write_copies(folder: Path) -> dict[str, Path]:
    """The boiler note as Markdown and HTML, an edited copy, and a related note: paths by role."""
    folder.mkdir(parents=True, exist_ok=True)
    edited = BOILER
    for old, new in EDITS.items():
        edited = [paragraph.replace(old, new) for paragraph in edited]
    files = {
        "markdown": folder / "boiler.md",
        "html": folder / "boiler.html",
        "edited": folder / "boiler notes (copy).txt",
        "related": folder / "boiler-service.md",
    }
    files["markdown"].write_text("# The boiler\n\n" + "\n\n".join(BOILER) + "\n", encoding="utf-8")
    body = "".join(f"<p>{paragraph}</p>\n" for paragraph in BOILER)
    files["html"].write_text(
        "<!DOCTYPE html>\n<html><head><title>The boiler</title></head>\n"
        f"<body><h1>The boiler</h1>\n{body}</body></html>\n",
        encoding="utf-8",
    )
    files["edited"].write_text("The boiler\n\n" + "\n\n".join(edited) + "\n", encoding="utf-8")
    files["related"].write_text("# Boiler service\n\n" + "\n\n".join(BOILER_SERVICE) + "\n", encoding="utf-8")
    return files
