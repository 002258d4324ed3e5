"""Synthetic WHP caseloads for the benchmark: seeded, so the same arguments give the same bytes.

    python benchmarks/generate.py 100000 -o /tmp/caseload.jsonl [--seed 1] [--format jsonl|csv|folder]

The mix is meant to look like an agency's export, not to be uniform: most
referrals follow the usual sequence (invitation, meeting, letter, provider
contacts, start, action plans), with a minority that are rushed (steps not
done, letter on the meeting day), out of order (letter before meeting),
missed (meeting not attended, invitation recorded as not received), or
incomplete (the file stops after the referral). Step outcomes are drawn per
step from a few adviser "styles" (careful, hurried, unknown), so a handful of
step patterns are common and a long tail is rare, as in real caseloads.
About 23 events per case on average.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

CHANNELS = ["letter", "email", "phone", "text", "in_person"]
STYLES = {
    # probability of done / not_done / unknown per step
    "careful": (0.92, 0.03, 0.05),
    "hurried": (0.45, 0.35, 0.20),
    "unrecorded": (0.10, 0.05, 0.85),
}


def _steps(rng: random.Random) -> dict[str, str]:
    style = rng.choices(list(STYLES), weights=(60, 25, 15))[0]
    done, not_done, _ = STYLES[style]
    out = {}
    for number in range(1, 16):
        roll = rng.random()
        if roll < done:
            out[str(number)] = "done"
        elif roll < done + not_done:
            out[str(number)] = "not_done"
        elif rng.random() < 0.5:
            out[str(number)] = "unknown"
    return out


def _claimant(rng: random.Random) -> dict[str, Any]:
    benefit = rng.choices(["jsa", "esa", "uc", "none", None], weights=(25, 20, 45, 3, 7))[0]
    out: dict[str, Any] = {}
    if benefit:
        out["benefit"] = benefit
    if benefit == "esa":
        group = rng.choice(["assessment", "wrag", "support"])
        out["esa_group"] = group
        if group == "wrag" and rng.random() < 0.2:
            out["appealing_support_group"] = True
    whp = rng.choice(["disability", "early_access", "ltu", None])
    if whp:
        out["whp_group"] = whp
    mandatory = rng.choices([True, False, None], weights=(20, 65, 15))[0]
    if mandatory is not None:
        out["mandatory"] = mandatory
    if rng.random() < 0.7:
        out["preferred_contact"] = rng.choice(CHANNELS)
    return out


def make_case(number: int, rng: random.Random) -> dict[str, Any]:
    """One synthetic referral."""
    start = date(2017, 6, 1) + timedelta(days=rng.randrange(0, 365 * 7))
    pattern = rng.choices(
        ["usual", "rushed", "out_of_order", "missed", "incomplete"], weights=(55, 20, 7, 8, 10)
    )[0]
    events: list[dict[str, Any]] = []

    def add(offset: int, kind: str, **fields: Any) -> None:
        events.append({"on": (start + timedelta(days=offset)).isoformat(), "type": kind, **fields})

    if rng.random() < 0.3:
        add(-rng.randrange(3, 20), "eligibility_check")
    if pattern == "missed" and rng.random() < 0.5:
        events.append({"type": "invite_letter", "happened": False})
    elif rng.random() < 0.9:
        add(0, "invite_letter", **({"channel": "letter"} if rng.random() < 0.5 else {}))
    meeting = rng.randrange(5, 12) if pattern != "rushed" else rng.randrange(0, 3)
    if pattern == "missed":
        add(meeting, "referral_meeting", attended=False)
        meeting += rng.randrange(7, 15)
    meet: dict[str, Any] = {"attended": True, "steps": _steps(rng)}
    understood = rng.choices([True, False, None], weights=(60, 25, 15))[0]
    if understood is not None:
        meet["understood"] = understood
    add(meeting, "referral_meeting", **meet)
    letter = meeting + (rng.randrange(0, 2) if pattern != "usual" else rng.randrange(0, 5))
    if pattern == "out_of_order":
        letter = meeting - rng.randrange(1, 4)
    add(letter, "referral_letter")
    if pattern == "incomplete":
        return {"case": f"SYN-{number:07d}", "claimant": _claimant(rng), "events": events}
    if rng.random() < 0.6:
        add(letter + rng.randrange(0, 5), "provider_acknowledged")
    contact = letter + rng.randrange(1, 20)
    for n in range(rng.randrange(11, 27)):
        fields = {"channel": rng.choice(CHANNELS)} if rng.random() < 0.8 else {}
        add(contact + 7 * n, "provider_contact", **fields)
    begin = letter + rng.randrange(5, 30)
    if rng.random() < 0.15:
        add(begin, "start_meeting", attended=False)
        begin += 7
    add(begin, "start_meeting", attended=True)
    for n in range(rng.randrange(1, 4)):
        plan: dict[str, Any] = {}
        for name in ("agreed", "copy_given", "single_document", "activities_explained",
                     "deadlines_given", "evidence_stated", "mandatory_flagged"):
            value = rng.choices([True, False, None], weights=(70, 15, 15))[0]
            if value is not None:
                plan[name] = value
        add(begin + 28 * n, "action_plan", **plan)
    case: dict[str, Any] = {"case": f"SYN-{number:07d}"}
    if rng.random() < 0.5:
        case["recorded_by"] = rng.choice(["claimant", "adviser", "provider records"])
    case["claimant"] = _claimant(rng)
    rng.shuffle(events) if rng.random() < 0.1 else None  # some files are not in date order
    case["events"] = events
    return case


def cases(count: int, seed: int) -> Any:
    rng = random.Random(seed)
    for number in range(1, count + 1):
        yield make_case(number, rng)


def write_jsonl(path: Path, count: int, seed: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for case in cases(count, seed):
            out.write(json.dumps(case, separators=(",", ":")) + "\n")


def write_folder(path: Path, count: int, seed: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for case in cases(count, seed):
        (path / f"{case['case']}.json").write_text(json.dumps(case, indent=1), encoding="utf-8")


def write_csv(path: Path, count: int, seed: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from auditor.caseload import case_rows, csv_columns

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        columns = csv_columns(range(1, 16))
        writer.writerow(columns)
        for case in cases(count, seed):
            writer.writerows(case_rows(case, columns, case["case"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=["jsonl", "csv", "folder"], default="jsonl")
    args = parser.parse_args()
    {"jsonl": write_jsonl, "csv": write_csv, "folder": write_folder}[args.format](
        args.output, args.count, args.seed
    )


if __name__ == "__main__":
    main()
