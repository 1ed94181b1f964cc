"""Expected catalogue content, read straight from the generated files in
build/catalogue (demo.xml, koha.xml: MARCXML; jazz.mrc: ISO 2709 in MARC-8)
with the standard library only.  Nothing here asks the daemon: the tests
compare its answers with what these parsers find in the records.

A record is a dict:
  id, title_a, title_b (245 $a/$b, NFC, as in the record), author (100 $a),
  copies: [{branch, call_number, location, status, due}], leader
Copy status follows the holdings mappings of the spec:
  koha952  : $7 non-zero -> not_for_loan; $1 lost / $0 withdrawn non-zero ->
             unavailable; $q due date -> on_loan; otherwise available.
  sirsi949 : $k current location CHECKEDOUT -> on_loan, LOST/MISSING/... ->
             unavailable; otherwise available (no due dates in 949).
"""

import os
import unicodedata
import xml.etree.ElementTree as ET

MARC_NS = "{http://www.loc.gov/MARC21/slim}"


def nfc(s):
    return unicodedata.normalize("NFC", s) if s is not None else None


def _nonzero(v):
    return v not in (None, "", "0")


def koha952_copy(subs):
    """subs: list of (code, value) of one 952."""
    d = {}
    for c, v in subs:
        d.setdefault(c, v)
    if _nonzero(d.get("7")):
        status = "not_for_loan"
    elif _nonzero(d.get("1")) or _nonzero(d.get("0")):
        status = "unavailable"
    elif d.get("q"):
        status = "on_loan"
    else:
        status = "available"
    return {"branch": d.get("b") or d.get("a"), "call_number": d.get("o"),
            "location": d.get("c"), "status": status,
            "due": d.get("q") if status == "on_loan" else None}


def sirsi949_copy(subs):
    d = {}
    for c, v in subs:
        d.setdefault(c, v.strip() if v else v)
    cur = (d.get("k") or "").upper()
    if cur == "CHECKEDOUT":
        status = "on_loan"
    elif cur in ("LOST", "MISSING", "DISCARD", "WITHDRAWN", "DAMAGE", "BINDERY"):
        status = "unavailable"
    else:
        status = "available"
    return {"branch": d.get("m"), "call_number": d.get("a"),
            "location": d.get("l"), "status": status, "due": None}


def _record_from_fields(leader, fields, id_tag, id_code, holdings_tag, mk_copy):
    """fields: list of (tag, value) for control fields or
    (tag, [(code, value)]) for data fields."""
    rec = {"leader": leader, "copies": [], "title_a": None, "title_b": None,
           "author": None, "id": None, "names": []}
    for tag, val in fields:
        if tag == id_tag:
            if id_code is None and isinstance(val, str):
                rec["id"] = val.strip()
            elif id_code is not None and not isinstance(val, str):
                for c, v in val:
                    if c == id_code and rec["id"] is None:
                        rec["id"] = v.strip()
        if isinstance(val, str):
            continue
        if tag in ("100", "700"):
            rec["names"] += [nfc(v) for c, v in val if c == "a"]
        if tag == "245" and rec["title_a"] is None:
            for c, v in val:
                if c == "a" and rec["title_a"] is None:
                    rec["title_a"] = nfc(v)
                if c == "b" and rec["title_b"] is None:
                    rec["title_b"] = nfc(v)
        elif tag == "100" and rec["author"] is None:
            for c, v in val:
                if c == "a":
                    rec["author"] = nfc(v)
                    break
        elif tag == holdings_tag:
            rec["copies"].append(mk_copy(val))
    return rec


def load_marcxml(path, id_tag="001", id_code=None, holdings_tag="952",
                 mk_copy=koha952_copy):
    out = {}
    for _, el in ET.iterparse(path):
        if el.tag != MARC_NS + "record":
            continue
        leader = el.findtext(MARC_NS + "leader") or ""
        fields = []
        for f in el:
            if f.tag == MARC_NS + "controlfield":
                fields.append((f.get("tag"), f.text or ""))
            elif f.tag == MARC_NS + "datafield":
                fields.append((f.get("tag"),
                               [(s.get("code"), s.text or "") for s in f]))
        rec = _record_from_fields(leader, fields, id_tag, id_code,
                                  holdings_tag, mk_copy)
        if rec["id"]:
            out[rec["id"]] = rec
        el.clear()
    return out


# ------------------------------------------------------------------ MARC-8

# ANSEL combining marks (they precede their base character in MARC-8).
_COMBINING = {
    0xE0: "\u0309", 0xE1: "\u0300", 0xE2: "\u0301", 0xE3: "\u0302",
    0xE4: "\u0303", 0xE5: "\u0304", 0xE6: "\u0306", 0xE7: "\u0307",
    0xE8: "\u0308", 0xE9: "\u030C", 0xEA: "\u030A", 0xEB: "\uFE20",
    0xEC: "\uFE21", 0xED: "\u0315", 0xEE: "\u030B", 0xEF: "\u0310",
    0xF0: "\u0327", 0xF1: "\u0328", 0xF2: "\u0323", 0xF3: "\u0324",
    0xF4: "\u0325", 0xF5: "\u0333", 0xF6: "\u0332", 0xF7: "\u0326",
    0xF8: "\u031C", 0xF9: "\u032E", 0xFA: "\uFE22", 0xFB: "\uFE23",
    0xFE: "\u0313",
}
_SPACING = {
    0xA1: "\u0141", 0xA2: "\u00D8", 0xA3: "\u0110", 0xA4: "\u00DE",
    0xA5: "\u00C6", 0xA6: "\u0152", 0xA7: "\u02B9", 0xA8: "\u00B7",
    0xA9: "\u266D", 0xAA: "\u00AE", 0xAB: "\u00B1", 0xAC: "\u01A0",
    0xAD: "\u01AF", 0xAE: "\u02BC", 0xB0: "\u02BB", 0xB1: "\u0142",
    0xB2: "\u00F8", 0xB3: "\u0111", 0xB4: "\u00FE", 0xB5: "\u00E6",
    0xB6: "\u0153", 0xB7: "\u02BA", 0xB8: "\u0131", 0xB9: "\u00A3",
    0xBA: "\u00F0", 0xBC: "\u01A1", 0xBD: "\u01B0", 0xC0: "\u00B0",
    0xC1: "\u2113", 0xC2: "\u2117", 0xC3: "\u00A9", 0xC4: "\u266F",
    0xC5: "\u00BF", 0xC6: "\u00A1", 0xC7: "\u00DF", 0xC8: "\u20AC",
}


class Marc8Error(ValueError):
    pass


def marc8_decode(b):
    """Decode MARC-8 (basic Latin + ANSEL, no escape sequences) to NFC text.
    Raises Marc8Error on anything outside that (the tests pick records this
    decoder handles completely)."""
    out, pending = [], []
    for byte in b:
        if byte == 0x1B:
            raise Marc8Error("escape sequence")
        if byte < 0x80:
            out.append(chr(byte))
            out.extend(pending)
            pending = []
        elif byte in _COMBINING:
            pending.append(_COMBINING[byte])
        elif byte in _SPACING:
            out.append(_SPACING[byte])
            out.extend(pending)
            pending = []
        else:
            raise Marc8Error("byte 0x%02X" % byte)
    if pending:
        raise Marc8Error("dangling combining mark")
    return unicodedata.normalize("NFC", "".join(out))


def iso2709_records(data):
    pos = 0
    while pos < len(data):
        length = int(data[pos:pos + 5])
        yield data[pos:pos + length]
        pos += length


def parse_iso2709(rec, decode):
    leader = rec[:24].decode("ascii")
    base = int(rec[12:17])
    directory = rec[24:base - 1]
    fields = []
    for i in range(0, len(directory), 12):
        tag = directory[i:i + 3].decode("ascii")
        ln = int(directory[i + 3:i + 7])
        st = int(directory[i + 7:i + 12])
        body = rec[base + st:base + st + ln - 1]     # drop field terminator
        if tag < "010":
            fields.append((tag, decode(body)))
        else:
            subs = []
            for part in body.split(b"\x1f")[1:]:
                if part:
                    subs.append((chr(part[0]), decode(part[1:])))
            fields.append((tag, subs))
    return leader, fields


def load_marc8_iso2709(path, id_tag="001", holdings_tag="949",
                       mk_copy=sirsi949_copy):
    """Records whose every field decodes with marc8_decode; the others are
    returned in the second dict with the error (and are not used by tests
    that check text)."""
    with open(path, "rb") as f:
        data = f.read()
    good, bad = {}, {}
    for raw in iso2709_records(data):
        try:
            leader, fields = parse_iso2709(raw, marc8_decode)
        except Marc8Error as e:
            leader, fields = parse_iso2709(
                raw, lambda b: b.decode("latin-1"))
            rec = _record_from_fields(leader, fields, id_tag, None,
                                      holdings_tag, mk_copy)
            bad[rec["id"]] = str(e)
            continue
        rec = _record_from_fields(leader, fields, id_tag, None,
                                  holdings_tag, mk_copy)
        if rec["id"]:
            good[rec["id"]] = rec
    return good, bad


class Catalogue:
    """All expected data, loaded once per run (about 2 s)."""

    def __init__(self, catdir):
        self.dir = catdir
        self.demo = load_marcxml(os.path.join(catdir, "demo.xml"))
        self.koha = load_marcxml(os.path.join(catdir, "koha.xml"),
                                 id_tag="999", id_code="c")
        self.jazz, self.jazz_undecodable = load_marc8_iso2709(
            os.path.join(catdir, "jazz.mrc"))

    def db(self, name):
        return {"demo": self.demo, "demo-sru": self.demo, "koha": self.koha,
                "jazz": self.jazz}[name]


def record_status(rec):
    """Expected record status from its copies."""
    sts = [c["status"] for c in rec["copies"]]
    if "available" in sts:
        return "available"
    return "on_loan"


def expected_back(rec):
    dues = [c["due"] for c in rec["copies"] if c["status"] == "on_loan" and c["due"]]
    return min(dues) if dues else None


def available_copies(rec):
    return [c for c in rec["copies"] if c["status"] == "available"]
