"""A class with to_json/from_json, as in the SDK's serialize_arguments sample."""


class Point:
    def __init__(self, x: int, y: int):
        self.x = x
        self.y = y

    @staticmethod
    def to_json(obj: "Point") -> dict:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict) -> "Point":
        return Point(data["x"], data["y"])
