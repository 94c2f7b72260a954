# Both import styles the Python worker supports: relative to the __app__ package
# and absolute from the app folder on sys.path.
from ..shared_code import greetings
from shared_code.greetings import punctuation


def main(name: str) -> str:
    return greetings.greet(name) + punctuation()
