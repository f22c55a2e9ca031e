"""Crypto wallet addresses, checked per network before a payout is sent to one.

What is checked, network by network (nothing is looked up on a chain):

- ERC20 (Ethereum): `0x` and 40 hexadecimal digits; an address written in mixed case carries
  the EIP-55 checksum in its capitals, and that checksum must hold (all lower or all upper case
  carries none, and is taken on its shape).
- TRC20 (Tron): Base58Check, 34 characters starting with T, decoding to the version byte 0x41
  and 20 bytes, its 4-byte double-SHA-256 checksum holding.
- BTC (Bitcoin mainnet): a legacy address (1... pay-to-pubkey-hash, 3... pay-to-script-hash)
  in Base58Check with its checksum, or a SegWit address (bc1...) whose bech32 (version 0,
  BIP-173) or bech32m (versions 1-16, BIP-350: taproot) checksum holds, with a program of the
  length its version allows. Testnet addresses (tb1, m, n, 2) are refused.

Adding a network is an entry in NETWORKS with a function that says what is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

MAX_LENGTH = 100  # longer than any address of these networks (bech32 stops at 90)


@dataclass(frozen=True)
class Network:
    code: str
    label: str
    fault: Callable[[str], str | None]  # why an address cannot be one of this network's
    example: str


# --- Keccak-256 (Ethereum's hash: SHA-3 before its final padding changed) ---------------------

_MASK = (1 << 64) - 1


def _rotl(lane: int, n: int) -> int:
    return ((lane << n) | (lane >> (64 - n))) & _MASK if n else lane


def _permute(state: list[int]) -> None:
    """Keccak-f[1600] on 25 lanes, lane (x, y) at state[x + 5y]."""
    r = 1
    for _ in range(24):
        c = [
            state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20]
            for x in range(5)
        ]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for i in range(25):
            state[i] ^= d[i % 5]
        # rho and pi: the lane at (1, 0) walks (x, y) -> (y, 2x + 3y), rotated by the triangle
        x, y, current = 1, 0, state[1]
        for t in range(24):
            x, y = y, (2 * x + 3 * y) % 5
            current, state[x + 5 * y] = (
                state[x + 5 * y],
                _rotl(current, (t + 1) * (t + 2) // 2 % 64),
            )
        # chi
        for y in range(5):
            row = state[5 * y : 5 * y + 5]
            for x in range(5):
                state[x + 5 * y] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5] & _MASK)
        # iota
        for j in range(7):
            r = ((r << 1) ^ ((r >> 7) * 0x71)) % 256
            if r & 2:
                state[0] ^= 1 << ((1 << j) - 1)


def keccak256(data: bytes) -> bytes:
    rate = 136
    padded = bytearray(data) + b"\x01" + bytes(-(len(data) + 1) % rate)
    padded[-1] |= 0x80
    state = [0] * 25
    for start in range(0, len(padded), rate):
        block = padded[start : start + rate]
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _permute(state)
    return b"".join(lane.to_bytes(8, "little") for lane in state[:4])


_HEX = frozenset("0123456789abcdefABCDEF")


def _erc20(address: str) -> str | None:
    if not address.startswith("0x") or len(address) != 42 or not set(address[2:]) <= _HEX:
        return "An ERC20 address is 0x followed by 40 hexadecimal digits (0-9, a-f)."
    digits = address[2:]
    if digits.islower() or digits.isupper() or digits.isdigit():
        return None  # written without the EIP-55 checksum
    hashed = keccak256(digits.lower().encode()).hex()
    for ch, nibble in zip(digits, hashed[:40], strict=True):
        if ch.isalpha() and ch.isupper() != (int(nibble, 16) >= 8):
            return (
                "This ERC20 address's capitals do not match its EIP-55 checksum: a character is "
                "wrong. Copy it again from the wallet."
            )
    return None


# --- Base58Check (Tron, Bitcoin's legacy addresses) --------------------------------------------

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check(text: str) -> bytes | None:
    """The payload (version byte and body) when the text is Base58 and its checksum holds."""
    number = 0
    for ch in text:
        value = _BASE58.find(ch)
        if value < 0:
            return None
        number = number * 58 + value
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = bytes(len(text) - len(text.lstrip("1"))) + body
    if len(raw) < 5:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return payload


def _trc20(address: str) -> str | None:
    if not (address.startswith("T") and len(address) == 34) or any(
        ch not in _BASE58 for ch in address
    ):
        return (
            "A TRC20 address has 34 characters, starts with T, and uses the Base58 letters "
            "(no 0, O, I or l)."
        )
    payload = _base58check(address)
    if payload is None or len(payload) != 21 or payload[0] != 0x41:
        return "This TRC20 address's checksum does not hold: a character is wrong."
    return None


# --- Bech32 and bech32m (Bitcoin's SegWit addresses) -------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32, _BECH32M = 1, 0x2BC830A3


def _polymod(values: list[int]) -> int:
    generators = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generators[i] if (top >> i) & 1 else 0
    return check


def _segwit_program(address: str) -> tuple[int, bytes] | None:
    """The witness version and program of a bc1 address whose checksum holds (bech32 for
    version 0, bech32m for the others), or None."""
    text = address.lower()
    data = [_CHARSET.find(ch) for ch in text[3:]]
    if len(address) > 90 or len(data) < 7 or min(data) < 0:
        return None
    expanded = [ord(ch) >> 5 for ch in "bc"] + [0] + [ord(ch) & 31 for ch in "bc"]
    constant = _polymod(expanded + data)
    version = data[0]
    if constant != (_BECH32 if version == 0 else _BECH32M):
        return None
    bits, value, program = 0, 0, bytearray()
    for five in data[1:-6]:
        value = (value << 5) | five
        bits += 5
        if bits >= 8:
            bits -= 8
            program.append((value >> bits) & 0xFF)
    if bits >= 5 or value & ((1 << bits) - 1):
        return None  # more than 4 bits of padding, or padding that is not zero
    return version, bytes(program)


def _btc(address: str) -> str | None:
    if address[:3].lower() == "bc1":
        if address != address.lower() and address != address.upper():
            return "A bc1 address is written all in lower case (or all in capitals), not mixed."
        found = _segwit_program(address)
        if found is None:
            return "This bc1 address's checksum does not hold: a character is wrong."
        version, program = found
        if (
            version > 16
            or not 2 <= len(program) <= 40
            or (version == 0 and len(program) not in (20, 32))
        ):
            return "This bc1 address's program has a length its version does not allow."
        return None
    if address[:1] in ("1", "3") and 26 <= len(address) <= 35:
        payload = _base58check(address)
        if payload is None or len(payload) != 21 or payload[0] not in (0x00, 0x05):
            return "This Bitcoin address's checksum does not hold: a character is wrong."
        return None
    return (
        "A Bitcoin address starts with bc1 (SegWit), 1 or 3 (legacy); testnet addresses are not "
        "taken."
    )


NETWORKS: dict[str, Network] = {
    n.code: n
    for n in (
        Network("ERC20", "Ethereum (ERC20)", _erc20, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        Network("TRC20", "Tron (TRC20)", _trc20, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        Network("BTC", "Bitcoin", _btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
    )
}


def address_fault(network: str, address: str) -> str | None:
    """Why `address` (trimmed) cannot be one of `network`'s, or None."""
    if len(address) > MAX_LENGTH:
        return f"An address has at most {MAX_LENGTH} characters."
    if not address.isascii() or not address.isalnum():
        return "An address has only the letters and digits its network uses: no spaces or signs."
    return NETWORKS[network].fault(address)


def canonical(network: str, address: str) -> str:
    """An address as it is kept: a bc1 address in lower case (its capitals mean nothing); the
    others as written (Base58 and EIP-55 capitals are part of them)."""
    return address.lower() if network == "BTC" and address[:3].lower() == "bc1" else address
