"""A generated household library and multi-step questions over it, for ``bench_agent.py``.

Each task names the tool a good first step calls, the tools it needs, and what a right answer says
(dates and sums are computed here, not written by hand). The clock is fixed, so "today" questions
have one answer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, Field

TODAY = dt.date(2024, 6, 1)
BOILER_SERVICE = dt.date(2024, 3, 12)
SWEET_PEAS = dt.date(2024, 2, 15)
PASSPORT_ISSUED, PASSPORT_EXPIRES = dt.date(2019, 6, 4), dt.date(2029, 6, 4)
LEASE_START, LEASE_DAYS = dt.date(2023, 9, 1), 540
DENTIST = dt.date(2024, 11, 5)
RENEWAL = dt.date(2025, 1, 31)

DOCUMENTS = {
    "boiler.md": f"# Boiler\n\nThe boiler was last serviced on {BOILER_SERVICE} by Hallam Heating. The engineer, Dana "
                 "Pike, can be reached on 01632 960 118. The service cost 84 pounds. The next service is due 365 days "
                 "after the last one.\n",
    "car-insurance.md": f"# Car insurance\n\nPolicy KX-5521 with Meridian Mutual. The premium is 612 pounds a year, "
                        f"paid in 12 monthly instalments. The policy renews on {RENEWAL}.\n",
    "kettle.txt": "The Brewmaster kettle manual. Error code KX-409 means the heating element overheated: unplug it "
                  "and let it cool for ten minutes.\n",
    "garden.md": f"# Garden\n\nTomatoes need full sun and deep watering twice a week. Sow the sweet peas on "
                 f"{SWEET_PEAS}; they flower about 90 days later.\n",
    "passport.txt": f"Passport number 5092 was issued on {PASSPORT_ISSUED} and expires on {PASSPORT_EXPIRES}.\n",
    "recipes.md": "# Sourdough\n\nBake the sourdough loaf at 230 degrees for forty minutes. The recipe uses 500 grams "
                  "of flour and 350 grams of water.\n",
    "electricity-bills.md": "# Electricity bills\n\nThe electricity bill for January was 142.50 pounds. The bill for "
                            "February was 128.30 pounds.\n",
    "wifi.txt": "The router's Wi-Fi network is called Hearth-5G. Its admin page is at 192.168.1.1.\n",
    "dentist.md": f"# Dentist\n\nDentist appointment with Dr Okafor on {DENTIST} at 09:30.\n",
    "bicycle.html": "<html><head><title>Bicycle care</title></head><body><h1>Bicycle care</h1><p>Check tyre pressure "
                    "every week; 80 psi suits road tyres.</p></body></html>\n",
    "lease.md": f"# Flat lease\n\nThe lease started on {LEASE_START} and runs for {LEASE_DAYS} days. Rent is "
                "950 pounds a month.\n",
}


class AgentTask(BaseModel):
    question: str
    first_tool: str  # what a good first step calls
    tools: list[str]  # every tool a good run calls
    expected: list[str] = Field(min_length=1)  # a right answer holds one of these (case-insensitive)
    note: bool = False  # the task is to write a note holding ``expected``


def _d(day: dt.date) -> str:
    return day.isoformat()


TASKS = [
    # Look-ups: one search, then the answer.
    AgentTask(question="What does kettle error code KX-409 mean?", first_tool="search_library",
              tools=["search_library"], expected=["overheat"]),
    AgentTask(question="Who serviced the boiler?", first_tool="search_library", tools=["search_library"],
              expected=["Hallam"]),
    AgentTask(question="What is the boiler engineer's phone number?", first_tool="search_library",
              tools=["search_library"], expected=["960 118"]),
    AgentTask(question="What is my car insurance policy number?", first_tool="search_library",
              tools=["search_library"], expected=["KX-5521"]),
    AgentTask(question="At what temperature do I bake the sourdough?", first_tool="search_library",
              tools=["search_library"], expected=["230"]),
    AgentTask(question="What is the name of the Wi-Fi network?", first_tool="search_library",
              tools=["search_library"], expected=["Hearth-5G"]),
    AgentTask(question="When is my dentist appointment?", first_tool="search_library", tools=["search_library"],
              expected=[_d(DENTIST), "5 November", "November 5"]),
    AgentTask(question="What tyre pressure suits road tyres?", first_tool="search_library",
              tools=["search_library"], expected=["80"]),
    AgentTask(question="How much rent do I pay each month?", first_tool="search_library",
              tools=["search_library"], expected=["950"]),
    AgentTask(question="What is my passport number?", first_tool="search_library", tools=["search_library"],
              expected=["5092"]),
    # A search, then arithmetic.
    AgentTask(question="What did the January and February electricity bills come to together?",
              first_tool="search_library", tools=["search_library", "calculate"], expected=["270.8"]),
    AgentTask(question="How much is each monthly instalment of the car insurance premium?",
              first_tool="search_library", tools=["search_library", "calculate"], expected=["51"]),
    AgentTask(question="How many grams of flour and water does the sourdough use in total?",
              first_tool="search_library", tools=["search_library", "calculate"], expected=["850"]),
    AgentTask(question="How much rent do I pay in a year?", first_tool="search_library",
              tools=["search_library", "calculate"], expected=["11400", "11,400"]),
    AgentTask(question="How much did the boiler service cost with 20% VAT added?", first_tool="search_library",
              tools=["search_library", "calculate"], expected=["100.8"]),
    AgentTask(question="What is 15% of the January electricity bill?", first_tool="search_library",
              tools=["search_library", "calculate"], expected=["21.37", "21.38"]),
    # A search, then date arithmetic.
    AgentTask(question="The next boiler service is due 365 days after the last one: on what date?",
              first_tool="search_library", tools=["search_library", "add_days"],
              expected=[_d(BOILER_SERVICE + dt.timedelta(days=365))]),
    AgentTask(question="On what date will the sweet peas flower, 90 days after sowing?", first_tool="search_library",
              tools=["search_library", "add_days"], expected=[_d(SWEET_PEAS + dt.timedelta(days=90))]),
    AgentTask(question="How many days is my passport valid in all, from issue to expiry?",
              first_tool="search_library", tools=["search_library", "days_between"],
              expected=[str((PASSPORT_EXPIRES - PASSPORT_ISSUED).days)]),
    AgentTask(question="On what date does my flat lease end?", first_tool="search_library",
              tools=["search_library", "add_days"], expected=[_d(LEASE_START + dt.timedelta(days=LEASE_DAYS))]),
    AgentTask(question="How many days are there between the last boiler service and my dentist appointment?",
              first_tool="search_library", tools=["search_library", "days_between"],
              expected=[str((DENTIST - BOILER_SERVICE).days)]),
    AgentTask(question="What date is 30 days after my car insurance renews?", first_tool="search_library",
              tools=["search_library", "add_days"], expected=[_d(RENEWAL + dt.timedelta(days=30))]),
    # Today's date.
    AgentTask(question="What is today's date?", first_tool="today", tools=["today"], expected=[_d(TODAY)]),
    AgentTask(question="What date will it be 100 days from today?", first_tool="today", tools=["today", "add_days"],
              expected=[_d(TODAY + dt.timedelta(days=100))]),
    AgentTask(question="How many days from today until my dentist appointment?", first_tool="search_library",
              tools=["search_library", "days_between"], expected=[str((DENTIST - TODAY).days)]),
    # The library itself.
    AgentTask(question="How many documents are in my library?", first_tool="library_stats", tools=["library_stats"],
              expected=[str(len(DOCUMENTS))]),
    AgentTask(question="How many markdown documents do I have?", first_tool="library_stats", tools=["library_stats"],
              expected=[str(sum(name.endswith(".md") for name in DOCUMENTS))]),
    AgentTask(question="Which of my documents have 'bill' in their name?", first_tool="list_documents",
              tools=["list_documents"], expected=["electricity-bills.md"]),
    AgentTask(question="Do I have a document about the router? Give its file name.", first_tool="list_documents",
              tools=["list_documents"], expected=["wifi.txt"]),
    # Reading a named document.
    AgentTask(question="Read garden.md and tell me what the tomatoes need.", first_tool="read_document",
              tools=["read_document"], expected=["full sun"]),
    AgentTask(question="Read wifi.txt: where is the router's admin page?", first_tool="read_document",
              tools=["read_document"], expected=["192.168.1.1"]),
    # Arithmetic alone.
    AgentTask(question="Calculate 17 times 23.", first_tool="calculate", tools=["calculate"], expected=["391"]),
    # Writing a note (approved).
    AgentTask(question="Save a note titled Shopping that says: buy flour and yeast.", first_tool="create_note",
              tools=["create_note"], expected=["flour"], note=True),
    AgentTask(question="Find the boiler engineer's phone number and save it in a note titled Boiler engineer.",
              first_tool="search_library", tools=["search_library", "create_note"], expected=["960 118"], note=True),
]


def write_library(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
