"""Placeholder airspace demo, replaced by the airspace issue's real demo."""


def airspace_demo() -> int:
    print("kaiteki: the airspace demo is being built (issue 2).")
    return 0
