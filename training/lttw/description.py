"""The description of one still image, as `listen describe` says it (Sources/Pipeline/StillDescription.swift):
the light as the signal expert decided it, then only the decoder's sentences the facts back
(Sources/Vision/CaptionGuard.swift), then the crossing and obstacles the facts hold that the caption
left out.

Why it exists: the reference predictor's `description` used to be the decoder's raw caption, which
may say "Walk signal on." on a red frame; the product never says that (DESIGN.md safety rules 1, 3
and 5), and the reference's predictions must not either. English only, as the predictions carry it.
"""
import re
from typing import Dict, List

from .captions import DIST_ORDER, KIND_EN, crosswalk_text, obstacle_text

MAX_OBSTACLES = 3

LIGHT_EN = {("green", "pedestrian"): "Walk signal on.", ("green", "vehicle"): "Traffic light green.",
            ("red", "pedestrian"): "Wait.", ("red", "vehicle"): "Wait. Traffic light red.",
            ("yellow", "pedestrian"): "Wait. Signal yellow.", ("yellow", "vehicle"): "Wait. Signal yellow.",
            ("flashing", "pedestrian"): "Signal flashing. Do not start crossing.",
            ("flashing", "vehicle"): "Signal flashing. Do not start crossing.",
            ("off", "pedestrian"): "Signal dark.", ("off", "vehicle"): "Signal dark.",
            ("unknown", "pedestrian"): "Signal unclear.", ("unknown", "vehicle"): "Signal unclear."}
NO_SIGNAL_EN = "No signal in view."
# Unknown because the frame shows no colour (signal_model.NO_COLOUR): the phrasebook's own
# sentence for it (LightStatus.noColour), so the wearer knows to see to the camera.
NO_COLOUR_EN = "Signal unclear. The camera sees no colour."


def light_sentence(light: Dict) -> str:
    """The phrasebook's sentence for the decided light, with the countdown's seconds on red or green."""
    from .signal_model import NO_COLOUR
    state, kind = light["state"], light.get("kind") or "pedestrian"
    if state == "unknown" and light.get("why") == NO_COLOUR:
        return NO_COLOUR_EN
    sentence = LIGHT_EN[(state, kind)]
    seconds = light.get("seconds_left")
    if seconds and seconds > 0 and state in ("red", "green"):
        sentence = sentence[:-1] + (", 1 second." if seconds == 1 else f", {seconds} seconds.")
    return sentence


def sentences(caption: str) -> List[str]:
    """The caption's sentences, trimmed, each with its closing mark (CaptionGuard.sentences)."""
    return [s.strip() for s in re.findall(r"[^.!?。！？]*[.!?。！？]|[^.!?。！？]+$", caption) if s.strip()]


def fact_sentences(facts: Dict) -> List[str]:
    """What captions.py writes for the crossing and these obstacles, crossing first (CaptionGuard.factSentences)."""
    cw = facts.get("crosswalk") or {}
    out = [crosswalk_text(cw, "en")] if cw.get("present") and cw.get("offset") else []
    return out + [obstacle_text(o, "en") for o in facts.get("obstacles") or [] if o["kind"] in KIND_EN]


def said_first(o: Dict):
    """Near before far, ahead before beside, then the more confident (StillDescription.saidFirst)."""
    return (DIST_ORDER[o.get("distance", "mid")],
            {"ahead": 0, "left": 1, "right": 2}[o["position"]], -float(o.get("confidence", 0)))


def still_description(facts: Dict, caption: str) -> str:
    """The English description of one still: the light, the backed caption sentences, the rest of the facts."""
    parts = []
    light = facts.get("light")
    if light and light.get("state") not in (None, "none"):
        parts.append(light_sentence(light))
    backed = set(fact_sentences(facts))
    kept = [s for s in sentences(caption) if s in backed]
    parts += kept
    said = {**facts, "obstacles": sorted(facts.get("obstacles") or [], key=said_first)[:MAX_OBSTACLES]}
    parts += [s for s in fact_sentences(said) if s not in kept]
    return " ".join(parts) if parts else NO_SIGNAL_EN
