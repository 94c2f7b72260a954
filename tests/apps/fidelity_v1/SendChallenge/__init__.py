"""An activity with an output binding: the worker passes an Out object to set."""
import json


def main(phone: str, message) -> str:
    code = "4242"
    message.set(json.dumps({"body": f"Your code is {code}", "to": phone}))
    return code
