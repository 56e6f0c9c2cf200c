#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/ (committed; run again when
the fixtures change). Crashes found later go to tests/fuzz/regressions/<target>/ and stay there as
regression inputs."""
import pathlib
import struct

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent
corpus = here / "corpus"


def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# CSV exports: make run's sample, and small shapes the parser has rules for.
write("csv", "sample-leads.csv", (root / "deploy/local/sample-leads.csv").read_bytes())
write("csv", "semicolon-greek.csv", "Όνομα;Επώνυμο;Εταιρεία;Τηλέφωνο\nΔήμητρα;Ρήγα;\"Ρήγας; Υιοί\";+30 210 555 0101\n")
write("csv", "quoted-newline.csv", 'Name,Email,Notes\n"Ann ""A"" B",ann@example.com,"two\nlines"\n')
write("csv", "tab-bom.csv", b"\xef\xbb\xbfFirst Name\tLast Name\tE-mail Address\nNikos\tAlexiou\tn@example.gr\n")
write("csv", "utf16.csv", "\ufeffName,Email\nΕλένη,eleni@example.gr\n".encode("utf-16-le"))

# Inbound JSON: byte 0 even = a marketing system's lead, odd = a PBX call.
write("intake_json", "lead", b"\x00" + '{"schema_version": 1, "source": "web_form", "external_id": "hs-1001", '
      '"name": "Δήμητρα Ρήγα", "email": "dimitra@example.gr", "productInterest": ["crm-pro"], '
      '"company_size": 40, "utm_campaign": "autumn"}'.encode())
write("intake_json", "lead-minimal", b"\x00" + b'{"schema_version":1,"external_id":"x","name":"N","phone":"+302105550101"}')
write("intake_json", "call", b"\x01" + b'{"schemaVersion":1,"callId":"pbx-7781","from":"+30 2310 555 123",'
      b'"to":"204","direction":"Inbound","startedAt":"2026-11-26T07:15:00.250Z","durationSeconds":42,'
      b'"answered":true}')
write("intake_json", "call-outbound", b"\x01" + b'{"schemaVersion":1,"callId":"c-1","from":"204",'
      b'"to":"0030 2310 555 123","direction":"OutBound","startedAt":"2026-11-26T07:15:00.250Z","durationSeconds":0}')

# Events: each fixture envelope alone, and a lead's way to a client as one sequence.
topics = {"lead": 0, "manager": 0, "offer": 1, "product": 1, "client": 2, "ticket": 2, "call": 4,
          "target": 3, "exchange": 3, "plan": 3}
fixtures = root / "tests/fixtures/events/v1"


def record(path):
    data = path.read_bytes()
    topic = next((t for prefix, t in topics.items() if path.name.startswith(prefix)), 0)
    return struct.pack(">BH", topic, len(data)) + data


for f in sorted(fixtures.glob("*.bin")):
    write("events", f.stem, record(f))
chain = [fixtures / n for n in ("lead_captured.bin", "lead_qualified.bin", "offer_drafted.bin", "offer_sent.bin",
                                "offer_accepted.bin")]
write("events", "lead-to-client", b"".join(record(f) for f in chain if f.exists()))

# Validators: the selector byte alone (an empty request of each kind).
for i in range(25):
    write("validators", f"request-{i:02d}", bytes([i]))
