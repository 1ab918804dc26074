"""Captions written from scene facts, English and Mandarin (Chinese characters).

Rules: danger first, short, accessible-pedestrian-signal wording ("Wait.", "Walk signal on.",
"Signal unclear."), never "safe". Order: (1) red / yellow -> "Wait." + signal; (2) near obstacles
ahead; (3) green / off signal; (4) crosswalk; (5) remaining obstacles, nearest first (max 3 in all).
"""
from typing import Dict

KIND_EN = {"car": "Car", "bicycle": "Bicycle", "scooter": "Scooter", "person": "Person",
           "pole": "Pole", "bollard": "Bollard", "cone": "Cone", "bin": "Bin",
           "tree": "Tree", "sign": "Sign board"}
KIND_ZH = {"car": "汽车", "bicycle": "自行车", "scooter": "滑板车", "person": "行人",
           "pole": "杆子", "bollard": "路桩", "cone": "锥桶", "bin": "垃圾桶",
           "tree": "树", "sign": "广告牌"}
POS_ZH = {"left": "左侧", "ahead": "前方", "right": "右侧"}
DIST_ORDER = {"near": 0, "mid": 1, "far": 2}


def _signal_where_en(pos):
    return {"left": "on your left", "ahead": "ahead", "right": "on your right"}[pos]


def _light_parts(light, lang):
    """Returns (urgent_parts, later_parts)."""
    if not light or light.get("state") in (None, "none"):
        return [], []
    st, kind, pos = light["state"], light.get("kind", "pedestrian"), light.get("position", "ahead")
    if lang == "en":
        where = _signal_where_en(pos)
        noun = "pedestrian signal" if kind == "pedestrian" else "traffic light"
        if st == "red":
            return ["Wait.", f"Red {noun} {where}."], []
        if st == "yellow":
            return ["Wait.", f"Yellow {noun} {where}."], []
        if st == "unknown":
            return ["Signal unclear."], []
        if st == "green":
            if kind == "pedestrian":
                return [], ["Walk signal on.", f"Green {noun} {where}."]
            return [], [f"Green {noun} {where}."]
        if st in ("off", "flashing"):
            return [], [f"Signal dark {where}." if st == "off" else f"Signal flashing {where}."]
        return [], []
    where = POS_ZH[pos]
    noun = "行人信号灯" if kind == "pedestrian" else "交通信号灯"
    if st == "red":
        return ["等待。", f"{where}{noun}红灯。"], []
    if st == "yellow":
        return ["等待。", f"{where}{noun}黄灯。"], []
    if st == "unknown":
        return ["信号不清。"], []
    if st == "green":
        if kind == "pedestrian":
            return [], ["步行信号亮。", f"{where}{noun}绿灯。"]
        return [], [f"{where}{noun}绿灯。"]
    if st in ("off", "flashing"):
        return [], [f"{where}{noun}熄灭。" if st == "off" else f"{where}{noun}闪烁。"]
    return [], []


def obstacle_text(o, lang):
    """The sentence for one obstacle (kind, side, distance) in `lang`."""
    k, pos, d = o["kind"], o["position"], o.get("distance", "mid")
    if lang == "en":
        where = {"left": "on your left", "ahead": "ahead", "right": "on your right"}[pos]
        tail = {"near": ", close", "mid": "", "far": ", far"}[d]
        return f"{KIND_EN[k]} {where}{tail}."
    tail = {"near": "，很近", "mid": "", "far": "，较远"}[d]
    return f"{POS_ZH[pos]}有{KIND_ZH[k]}{tail}。"


def crosswalk_text(cw, lang):
    """The sentence for a crossing in view and its side in `lang`; None when there is none."""
    if not cw or not cw.get("present"):
        return None
    off = cw.get("offset", "ahead")
    if lang == "en":
        return {"left": "Crosswalk ahead, slightly left.", "ahead": "Crosswalk ahead.",
                "right": "Crosswalk ahead, slightly right."}[off]
    return {"left": "前方人行横道，略偏左。", "ahead": "前方人行横道。",
            "right": "前方人行横道，略偏右。"}[off]


def caption(facts: Dict, lang: str = "en") -> str:
    urgent, later = _light_parts(facts.get("light"), lang)
    obs = sorted(facts.get("obstacles") or [],
                 key=lambda o: (DIST_ORDER.get(o.get("distance", "mid"), 1),
                                {"ahead": 0, "left": 1, "right": 2}[o["position"]]))[:3]
    near_ahead = [o for o in obs if o["position"] == "ahead" and o.get("distance") == "near"]
    rest = [o for o in obs if o not in near_ahead]
    parts = list(urgent)
    parts += [obstacle_text(o, lang) for o in near_ahead]
    parts += later
    cw = crosswalk_text(facts.get("crosswalk"), lang)
    if cw:
        parts.append(cw)
    parts += [obstacle_text(o, lang) for o in rest]
    if not parts:
        parts = ["No signal in view."] if lang == "en" else ["未见信号灯。"]
    return (" " if lang == "en" else "").join(parts)


def captions(facts: Dict) -> Dict[str, str]:
    return {"en": caption(facts, "en"), "zh": caption(facts, "zh")}
