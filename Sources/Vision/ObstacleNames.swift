/// How an obstacle kind (the model's label) is named in each language: the words the caption
/// templates (training/lttw/captions.py), the phrasebook and the caption guard all use.
public enum ObstacleNames {
    public static let english = [
        "car": "Car", "bicycle": "Bicycle", "scooter": "Scooter", "person": "Person", "pole": "Pole",
        "bollard": "Bollard", "cone": "Cone", "bin": "Bin", "tree": "Tree", "sign": "Sign board",
    ]
    public static let mandarin = [
        "car": "汽车", "bicycle": "自行车", "scooter": "滑板车", "person": "行人", "pole": "杆子",
        "bollard": "路桩", "cone": "锥桶", "bin": "垃圾桶", "tree": "树", "sign": "广告牌",
    ]
}
