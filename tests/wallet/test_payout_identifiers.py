"""The checks behind a withdrawal's destination, on their own: IBANs (country, length, check
digits), BICs, and each crypto network's addresses (shape and checksum), against published
examples and the same examples with one character wrong."""

from __future__ import annotations

import pytest

from propdesk.wallet import crypto_addresses, iban


@pytest.mark.parametrize(
    "account",
    [
        "DE89370400440532013000",  # the registry's examples, one per country
        "GB29NWBK60161331926819",
        "CZ6508000000192000145399",
        "NO9386011117947",  # the shortest (15)
        "BE68539007547034",
        "MT84MALT011000012345MTLCAST001S",  # letters inside the account
        "LC55HEMM000100010012001200023015",  # the longest (32)
        "SC18SSCB11010000000000001497USD",
    ],
)
def test_registry_ibans_pass(account):
    assert iban.iban_fault(account) is None


@pytest.mark.parametrize(
    ("account", "words"),
    [
        ("DE89370400440532013001", "check digits do not match"),  # last digit changed
        ("DE88370400440532013000", "check digits do not match"),  # check digits changed
        ("DE98370400440532013000", "check digits do not match"),  # two characters swapped
        ("DE8937040044053201300", "from DE has 22 characters; this one has 21"),
        ("DE893704004405320130000", "from DE has 22 characters; this one has 23"),
        ("XX89370400440532013000", "XX is not a country with IBANs"),
        ("US64SVBKUS6S3300958879", "US is not a country with IBANs"),
        ("DE89-3704-0044-0532-0130-00", "only letters and digits"),
        ("DE8937040044053201300\u0660", "only letters and digits"),  # an Arabic-Indic zero
    ],
)
def test_wrong_ibans_say_what_is_wrong(account, words):
    fault = iban.iban_fault(account)
    assert fault is not None
    assert words in fault


@pytest.mark.parametrize(
    ("valid", "alias"),
    [
        # Check digits run from 02 to 98: 00, 01 and 99 are never issued, yet pass mod 97 where
        # 97, 98 and 02 do (they leave the same remainder).
        ("GB02WEST00000000000029", "GB99WEST00000000000029"),
        ("GB98WEST00000000000047", "GB01WEST00000000000047"),
        ("DE97100100100000000067", "DE00100100100000000067"),
    ],
)
def test_check_digits_no_iban_can_have_are_refused(valid, alias):
    assert iban.iban_fault(valid) is None
    assert iban.check_digits_hold(alias)  # the remainder alone would take it
    assert "check digits" in (iban.iban_fault(alias) or "")


def test_an_iban_of_the_right_length_and_digits_for_another_country_is_refused():
    # Norway's 15 characters under Germany's code: the length of DE is 22.
    assert "22 characters" in (iban.iban_fault("DE9386011117947") or "")


def test_compacting_keeps_look_alike_letters_so_that_they_fail():
    assert iban.compact(" de89 3704\t0044 0532 0130 00 ") == "DE89370400440532013000"
    assert iban.compact("DEUTDE\ufb00") == "DEUTDE\ufb00"  # "ﬀ".upper() would be "FF"
    assert iban.bic_fault(iban.compact("DEUTDE\ufb00")) is not None


@pytest.mark.parametrize("bic", ["DEUTDEFF", "DEUTDEFF500", "COBADEFFXXX", "NWBKGB2L"])
def test_well_formed_bics_pass(bic):
    assert iban.bic_fault(bic) is None


@pytest.mark.parametrize(
    ("bic", "words"),
    [
        ("DEUTDEF", "8 or 11"),
        ("DEUTDEFF5", "8 or 11"),
        ("DEUTDEFF50000", "8 or 11"),
        ("12UTDEFF", "8 or 11"),  # the bank code is letters
        ("DEUT1EFF", "8 or 11"),  # so is the country
        ("DEUTDEF0", "test BIC"),  # a location code ending in 0 is a test BIC
    ],
)
def test_malformed_bics_are_refused(bic, words):
    assert words in (iban.bic_fault(bic) or "")


def test_ibans_are_shown_in_groups_of_four_and_account_numbers_as_they_are():
    assert iban.grouped("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    assert iban.grouped("12345678/0100") == "12345678/0100"


def test_keccak256_matches_its_published_digest():
    # Keccak-256 of nothing, as Ethereum computes it (not SHA3-256's a7ffc6f8...).
    assert crypto_addresses.keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


GOOD = {
    "ERC20": [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55's examples
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",  # all lower case: no checksum to hold
        "0x52908400098527886E0F7030069857D2E4169EE7",  # all capitals: none either
    ],
    "TRC20": ["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"],  # Tether's USDT contract
    "BTC": [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",  # pay to a key hash
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # pay to a script hash
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # BIP-173, version 0, 20 bytes
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",  # 32 bytes
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",  # all capitals is allowed
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",  # taproot, bech32m
    ],
}


@pytest.mark.parametrize(
    ("network", "address"), [(n, a) for n, found in GOOD.items() for a in found]
)
def test_published_addresses_pass_their_network(network, address):
    assert crypto_addresses.address_fault(network, address) is None


@pytest.mark.parametrize(
    ("network", "address", "words"),
    [
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"),  # one capital wrong
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "40 hexadecimal"),
        ("ERC20", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedaa", "40 hexadecimal"),
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "40 hexadecimal"),
        ("ERC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "40 hexadecimal"),
        ("TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T", "checksum"),
        ("TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "34 characters"),
        ("TRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60", "Base58"),  # 0 is not Base58
        ("TRC20", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "starts with T"),
        ("TRC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "starts with T"),
        ("BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"),
        ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"),
        ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3T4", "lower case"),
        # version 0 with a bech32m checksum, version 1 with a bech32 one (BIP-350)
        ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "checksum"),
        (
            "BTC",
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
            "checksum",
        ),
        ("BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet"),
        ("BTC", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet"),
        ("BTC", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "starts with bc1"),
        ("BTC", "bc1 qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "no spaces"),
        ("TRC20", "T" * 101, "at most 100"),
    ],
)
def test_wrong_addresses_say_what_is_wrong(network, address, words):
    assert words in (crypto_addresses.address_fault(network, address) or "")


def test_a_bech32_address_is_kept_in_lower_case_and_the_others_as_written():
    assert crypto_addresses.canonical("BTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4") == (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    )
    checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert crypto_addresses.canonical("ERC20", checksummed) == checksummed
