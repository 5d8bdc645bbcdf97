#!/usr/bin/env python3
"""Writes the generated half of the labelled PII sample (tests/fixtures/pii/generated.jsonl).

Each line is {"text": ..., "pii": [{"kind": ..., "value": ...}]}: support messages with
personal data in the formats people write it, and messages holding look-alikes (order
ids, dates, prices, versions, times, postcodes, tracking numbers) labelled as holding
none. Card numbers and IBANs are made valid (Luhn, mod-97); the look-alike digit strings
are random, so some happen to pass Luhn — they are labelled as what they are (order ids),
and a detector that masks them is charged a false positive.

The detectors in backend/src/intake/redact.rs were written before this file existed and
are tuned on it; tests/fixtures/pii/handwritten.jsonl, written separately, is the held-out
set. Deterministic: `python3 scripts/pii_sample.py` rewrites the same file.
"""
import json
import random
import string
import sys
from pathlib import Path

R = random.Random(20261203)

FIRST = ["jane", "omar", "li", "maria", "tom", "anna", "sean", "priya", "lukas", "chloe", "kenji", "fatima"]
LAST = ["doe", "haddad", "wei", "garcia", "o'neil", "schmidt", "murphy", "patel", "novak", "martin", "sato", "khan"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "gmail.com", "outlook.de",
           "uni-example.edu", "example.io", "post.example.fr", "yahoo.co.jp", "proton.me"]


def email():
    f, l = R.choice(FIRST), R.choice(LAST).replace("'", "")
    local = R.choice([f"{f}.{l}", f"{f}{l}{R.randint(1, 99)}", f"{f[0]}{l}", f"{f}_{l}+bank",
                      f"{f.upper()}.{l.upper()}", f"{l}-{f}"])
    return f"{local}@{R.choice(DOMAINS)}"


def digits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def phone():
    forms = [
        lambda: f"+1 {R.randint(201, 989)} {R.randint(200, 999)} {digits(4)}",
        lambda: f"+1-{R.randint(201, 989)}-{R.randint(200, 999)}-{digits(4)}",
        lambda: f"+1 ({R.randint(201, 989)}) {R.randint(200, 999)}-{digits(4)}",
        lambda: f"({R.randint(201, 989)}) {R.randint(200, 999)}-{digits(4)}",
        lambda: f"{R.randint(201, 989)}-{R.randint(200, 999)}-{digits(4)}",
        lambda: f"{R.randint(201, 989)}.{R.randint(200, 999)}.{digits(4)}",
        lambda: f"+44 20 {digits(4)} {digits(4)}",
        lambda: f"+44 7{digits(3)} {digits(6)}",
        lambda: f"07{digits(3)} {digits(6)}",
        lambda: f"020 {digits(4)} {digits(4)}",
        lambda: f"+49 30 {digits(8)}",
        lambda: f"+49 151 {digits(4)} {digits(4)}",
        lambda: f"030 {digits(7)}",
        lambda: f"+33 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
        lambda: f"06 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
        lambda: f"+34 6{digits(2)} {digits(3)} {digits(3)}",
        lambda: f"+39 06 {digits(4)} {digits(4)}",
        lambda: f"+31 20 {digits(3)} {digits(4)}",
        lambda: f"+61 4{digits(2)} {digits(3)} {digits(3)}",
        lambda: f"+81 3-{digits(4)}-{digits(4)}",
        lambda: f"+91 9{digits(4)} {digits(5)}",
        lambda: f"+55 11 9{digits(4)}-{digits(4)}",
        lambda: f"+86 13{digits(1)} {digits(4)} {digits(4)}",
        lambda: f"+353 1 {digits(3)} {digits(4)}",
        lambda: f"0044 20 {digits(4)} {digits(4)}",
        lambda: f"+4420{digits(8)}",
        lambda: f"+1{R.randint(201, 989)}{R.randint(200, 999)}{digits(4)}",
    ]
    return R.choice(forms)()


def luhn_complete(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    for check in string.digits:
        s = body + check
        total = 0
        for i, ch in enumerate(reversed(s)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return s
    raise AssertionError


def group(s, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(out)


def card():
    brand = R.choice(["visa", "visa", "mc", "mc2", "amex", "discover", "jcb", "diners", "unionpay", "visa13"])
    if brand == "visa":
        n = luhn_complete("4", 16)
    elif brand == "visa13":
        n = luhn_complete("4", 13)
        return n
    elif brand == "mc":
        n = luhn_complete(str(R.randint(51, 55)), 16)
    elif brand == "mc2":
        n = luhn_complete(str(R.randint(2221, 2720)), 16)
    elif brand == "amex":
        n = luhn_complete(R.choice(["34", "37"]), 15)
        return group(n, [4, 6, 5], R.choice([" ", "-", ""]))
    elif brand == "discover":
        n = luhn_complete("6011", 16)
    elif brand == "jcb":
        n = luhn_complete(str(R.randint(3528, 3589)), 16)
    elif brand == "diners":
        n = luhn_complete(R.choice(["36", "38", "300"]), 14)
        return group(n, [4, 6, 4], R.choice([" ", ""]))
    else:
        n = luhn_complete("62", R.choice([16, 19]))
    return group(n, [4, 4, 4, 4], R.choice([" ", " ", "-", ""]))


IBAN_FORMS = {  # country: (length, body maker)
    "DE": lambda: digits(18), "GB": lambda: "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + digits(14),
    "FR": lambda: digits(23), "ES": lambda: digits(20), "IT": lambda: R.choice(string.ascii_uppercase) + digits(22),
    "NL": lambda: "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + digits(10),
    "BE": lambda: digits(12), "CH": lambda: digits(17), "AT": lambda: digits(16), "PL": lambda: digits(24),
    "SE": lambda: digits(20), "IE": lambda: "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + digits(14),
    "PT": lambda: digits(21), "NO": lambda: digits(11), "DK": lambda: digits(14),
}


def iban_value(country, body):
    rearranged = body + country + "00"
    num = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(num) % 97
    return f"{country}{check:02d}{body}"


def iban():
    c = R.choice(list(IBAN_FORMS))
    s = iban_value(c, IBAN_FORMS[c]())
    return group(s, [4] * 8, " ") if R.random() < 0.6 else s


def ipv4():
    return R.choice([
        lambda: f"192.168.{R.randint(0, 255)}.{R.randint(1, 254)}",
        lambda: f"10.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
        lambda: f"{R.randint(1, 223)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}",
    ])()


def ipv6():
    groups = [f"{R.randint(0, 0xffff):x}" for _ in range(8)]
    return R.choice([
        lambda: ":".join(groups),
        lambda: "2001:db8::" + ":".join(groups[:2]),
        lambda: "fe80::" + ":".join(groups[:4]),
        lambda: "::ffff:" + ipv4(),
    ])()


MAKERS = {"email": email, "phone": phone, "card": card, "iban": iban, "ip": lambda: R.choice([ipv4, ipv4, ipv6])()}

TEMPLATES = {
    "email": ["Please reply to {} instead of my work address.", "my email is {} and I never got the reset link",
              "Contact me at <{}> when the refund is done", "I changed my login to {}, now I can't sign in.",
              "Send the statement to {}.", "Hi, it's me ({}) again, the app still logs me out"],
    "phone": ["You can call me on {} after 5pm.", "My phone number is {} if you need to verify.",
              "I tried ringing {} but nobody picks up", "Please text {} when the card is sent",
              "Reach me at {}, thanks", "The SMS code goes to {} which is my old number",
              "Call back {} - urgent!"],
    "card": ["My card {} was charged twice for the same coffee.", "Card number {} got declined at the ATM",
             "I think {} has been cloned, please block it", "Refund to {} hasn't arrived after 10 days",
             "Why is there a fee on {}?", "new card ({}) not activated yet"],
    "iban": ["Please send the money to IBAN {} today.", "My account {} did not receive the transfer",
             "I entered {} as the beneficiary and it bounced", "Transfer from {} is still pending",
             "Wrong IBAN? I used {}"],
    "ip": ["I was logged in from {} which is not me", "Your site blocks my address {}",
           "The login alert says {} in another country", "Access from {} was denied again",
           "Support asked for my IP: {}"],
}

LOOKALIKES = [
    lambda: f"My order {digits(R.randint(8, 16))} never arrived.",
    lambda: f"Order #{digits(R.randint(6, 10))} was charged twice",
    lambda: f"ORD-2024-{digits(6)} is still processing",
    lambda: f"Invoice {digits(12)} shows the wrong amount",
    lambda: f"Tracking number 1Z{digits(3)}AA{digits(10)} says delivered, it's not",
    lambda: f"Transaction {digits(16)} is missing from the statement",
    lambda: f"Reference {digits(4)}-{digits(4)}-{digits(4)} please check",
    lambda: f"On {R.randint(2019, 2026)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d} I paid ${R.randint(1, 9)},{digits(3)}.{digits(2)}",
    lambda: f"Paid on {R.randint(1, 28):02d}/{R.randint(1, 12):02d}/{R.randint(2019, 2026)} and {R.randint(1, 28)}.{R.randint(1, 12)}.{R.randint(2019, 2026)}",
    lambda: f"The fee was €{R.randint(1, 999)}.{digits(2)} instead of €{R.randint(1, 99)},{digits(2)}",
    lambda: f"It costs 1 {digits(3)} {digits(3)} in total, too much",
    lambda: f"Updated the app to version {R.randint(1, 12)}.{R.randint(0, 20)}.{R.randint(0, 99)} and it crashes",
    lambda: f"Windows build 10.0.{R.randint(17000, 22999)}.{R.randint(1, 3000)} cannot install it",
    lambda: f"Since v{R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 99)} the login fails",
    lambda: f"It happened at {R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d} and again at {R.randint(0, 23)}:{R.randint(0, 59):02d}",
    lambda: f"My postcode is SW1A {R.randint(1, 9)}AA and zip {digits(5)}",
    lambda: f"Error code {R.randint(100, 999)}-{digits(4)} on checkout",
    lambda: f"The 2FA code {digits(6)} expired immediately",
    lambda: f"Account ending in {digits(4)} shows a negative balance",
    lambda: f"Sort code {digits(2)}-{digits(2)}-{digits(2)} is rejected",
    lambda: f"ISBN 978-{digits(1)}-{digits(2)}-{digits(6)}-{digits(1)} for the book",
    lambda: f"I have {R.randint(2, 9)} cards and {R.randint(2, 9)} accounts with you since {R.randint(2001, 2024)}",
    lambda: f"Device MAC 00:1A:{digits(2)}:{digits(2)}:4D:5E keeps disconnecting",
    lambda: f"Coordinates {R.randint(-80, 80)}.{digits(4)}, {R.randint(-170, 170)}.{digits(4)} on the map are wrong",
    lambda: f"I was charged {digits(2)} times, {R.randint(10, 99)}% extra",
    lambda: f"Case {digits(8)} was closed without an answer",
    lambda: f"Booking ref {digits(10)}, flight on {R.randint(1, 28)} March",
    lambda: "My IBAN DE{} 3704 0044 0532 0130 00 is wrong?".format(R.choice(["00", "11", "90"])),
    lambda: f"Serial {digits(4)}-{digits(4)}-{digits(4)}-{digits(4)} on the card reader",
    lambda: f"Card ending {digits(4)}, expiry {R.randint(1, 12):02d}/{R.randint(25, 31)}",
    lambda: "The app crashes when I open the statement tab",
    lambda: "Why is the exchange rate so bad?",
]


def main(out):
    lines = []
    for kind, make in MAKERS.items():
        for _ in range(70):
            v = make()
            lines.append({"text": R.choice(TEMPLATES[kind]).format(v), "pii": [{"kind": kind, "value": v}]})
    for _ in range(40):  # two kinds in one message
        a, b = R.sample(list(MAKERS), 2)
        va, vb = MAKERS[a](), MAKERS[b]()
        text = R.choice(TEMPLATES[a]).format(va) + " " + R.choice(TEMPLATES[b]).format(vb)
        lines.append({"text": text, "pii": [{"kind": a, "value": va}, {"kind": b, "value": vb}]})
    for _ in range(260):
        lines.append({"text": R.choice(LOOKALIKES)(), "pii": []})
    R.shuffle(lines)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} strings → {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pii/generated.jsonl")
