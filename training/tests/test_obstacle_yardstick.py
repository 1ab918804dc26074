"""The yardstick's read-out (lttw.obstacle_yardstick): COCO detections in the labels' vocabulary."""
import numpy as np


class _Detections:
    """Stands in for OpenCV's detection model: returns the given classes, scores and boxes."""

    def __init__(self, classes, scores, boxes):
        self.out = (np.array(classes), np.array(scores), boxes)

    def detect(self, image, confidence, nms):
        return self.out


def test_detections_become_one_call_per_kind_and_third_of_the_frame_tall_enough_to_be_near():
    from lttw.obstacle_yardstick import calls
    names = ["person", "bicycle", "car", "motorbike", "bus", "truck", "traffic light", "dog"]
    frame = np.zeros((300, 600, 3), np.uint8)
    model = _Detections(
        [0, 0, 2, 4, 3, 6, 7, 0],
        [0.9, 0.6, 0.8, 0.95, 0.5, 0.99, 0.9, 0.7],
        [(10, 50, 40, 120),    # person, left
         (120, 50, 40, 100),   # another person, left, less sure: the one call keeps 0.9
         (250, 100, 80, 60),   # car, ahead
         (500, 100, 90, 80),   # bus -> car, right
         (230, 150, 60, 50),   # motorbike -> scooter, ahead
         (300, 10, 20, 40),    # traffic light: not an obstacle kind
         (300, 200, 40, 40),   # dog: not an obstacle kind
         (450, 290, 10, 15)])  # person far off (5 % of the height): under the floor
    said = calls(model, names, frame, confidence=0.25, min_height=0.08)
    assert said == [
        {"kind": "car", "position": "right", "confidence": 0.95},
        {"kind": "person", "position": "left", "confidence": 0.9},
        {"kind": "car", "position": "ahead", "confidence": 0.8},
        {"kind": "scooter", "position": "ahead", "confidence": 0.5},
    ]
    assert len(calls(model, names, frame, confidence=0.25, min_height=0.0)) == 5
