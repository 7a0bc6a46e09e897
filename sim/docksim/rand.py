"""The simulator's shared deterministic randomness (same results under CPython and MicroPython)."""

_M32 = 0xFFFFFFFF


def mix(a, b, c):
    """A 32-bit hash of three integers (murmur3's finaliser); the sim's shared seed mixer."""
    x = (a * 0x9E3779B1 + b * 0x85EBCA77 + c * 0xC2B2AE3D) & _M32
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & _M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & _M32
    return x ^ (x >> 16)
