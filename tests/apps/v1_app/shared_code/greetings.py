"""Code shared between functions of the V1 app (imported by SayHello)."""


def greet(name: str) -> str:
    return f"Hello {name}"


def punctuation() -> str:
    return "!"
