"""Passages on planted subjects, written from small vocabularies: the topic map and the drift test
must recover them."""

from __future__ import annotations

import random

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
