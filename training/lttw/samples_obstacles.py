"""The obstacles `listen describe` names on samples/, scored against samples/expected.jsonl by kind
and side: how many of the samples' obstacles are named, and the false calls split as
`lttw.evaluate.false_calls` splits them (a wrong kind at a labelled place; a call where nothing
is). The obstacle expert's ship rules judge a candidate on these counts, so they are computed here
and not by hand.

    PYTHONPATH=training python -m lttw.samples_obstacles --model models/default
    listen describe --json samples > said.jsonl
    PYTHONPATH=training python -m lttw.samples_obstacles --said said.jsonl
"""
import argparse
import json
import os
import subprocess
import sys
from typing import Dict, List

from .evaluate import false_calls, pair_obstacles

LISTEN = ".build/release/listen"


def said_by_listen(model: str, samples: str, listen: str = LISTEN) -> List[Dict]:
    """`listen describe --json --model MODEL SAMPLES`, one record per image."""
    if not os.path.exists(listen):
        raise SystemExit(f"{listen}: not built (swift build -c release --product listen)")
    run = subprocess.run([listen, "describe", "--json", "--model", model, samples], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{listen} describe failed ({run.returncode}): {run.stderr.strip()}")
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def score(expected: List[Dict], said: List[Dict]) -> Dict:
    """Per sample and in all: obstacles labelled, named (kind and side, each call used once) and
    the false calls. A sample `said` lacks counts as named nothing, so a missing line cannot pass."""
    by_file = {os.path.basename(s["file"]): s for s in said}
    frames, labels, calls = [], [], []
    for r in expected:
        name = os.path.basename(r["file"])
        truth = [{"kind": o["kind"], "position": o["position"]} for o in r.get("obstacles") or []]
        found = [{"kind": o["kind"], "position": o["position"]} for o in (by_file.get(name) or {}).get("obstacles") or []]
        hits, used = pair_obstacles(truth, found)
        frames.append({"file": name, "labelled": truth, "called": found, "named": sum(hits),
                       "unmatched_calls": [c for c, u in zip(found, used) if not u],
                       "missing_from_said": name not in by_file})
        labels.append(truth)
        calls.append(found)
    wrong = false_calls(labels, calls)
    return {"labelled": sum(len(t) for t in labels), "named": sum(f["named"] for f in frames),
            "wrong_kind": wrong["wrong_kind"], "nothing": wrong["nothing"],
            "confusion": [{"label": l, "called": c, "count": n} for (l, c), n in sorted(wrong["confusion"].items())],
            "frames": frames}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--model", default="models/default", help="model folder for `listen describe --json`")
    src.add_argument("--said", help="a saved `listen describe --json` output instead of running listen")
    ap.add_argument("--samples", default="samples", help="the samples folder, holding expected.jsonl")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    with open(os.path.join(a.samples, "expected.jsonl")) as f:
        expected = [json.loads(line) for line in f if line.strip()]
    if a.said:
        with open(a.said) as f:
            said = [json.loads(line) for line in f if line.startswith("{")]
    else:
        said = said_by_listen(a.model, a.samples)
    s = score(expected, said)
    if a.json:
        print(json.dumps(s, indent=1))
        return
    for fr in s["frames"]:
        if fr["labelled"] or fr["called"]:
            show = lambda os_: ", ".join(f"{o['kind']} {o['position']}" for o in os_) or "-"
            print(f"{fr['file']}: labelled {show(fr['labelled'])}; called {show(fr['called'])}; named {fr['named']}"
                  + (f"; not matched: {show(fr['unmatched_calls'])}" if fr["unmatched_calls"] else "")
                  + (" (not in listen's output)" if fr["missing_from_said"] else ""))
    conf = ", ".join(f"{c['label']}→{c['called']} {c['count']}" for c in s["confusion"])
    print(f"named {s['named']} of {s['labelled']}; false calls: {s['wrong_kind']} a wrong kind at a labelled place"
          + (f" ({conf})" if conf else "") + f", {s['nothing']} where nothing is")


if __name__ == "__main__":
    sys.exit(main())
