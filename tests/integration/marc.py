"""Expected catalogue content, read straight from the generated files in
build/catalogue (demo.xml, koha.xml: MARCXML; jazz.mrc: ISO 2709 in MARC-8,
turned into MARCXML by yaz-marcdump).  Nothing here asks the daemon: the tests
compare its answers with what these parsers find in the records.

A record is a dict:
  id, title_a, title_b (245 $a/$b, NFC, as in the record), author (100 $a),
  copies: [{branch, call_number, location, status, due}], leader
Copy status follows the holdings mappings of the spec:
  koha952  : $7 non-zero -> not_for_loan; $1 lost / $0 withdrawn non-zero ->
             unavailable; $q due date -> on_loan; otherwise available.
  sirsi949 : $k current location CHECKEDOUT -> on_loan, HOLDS -> held,
             LOST/MISSING/BINDERY/INTRANSIT/... -> unavailable, ON-ORDER/
             INPROCESS/REFERENCE -> not_for_loan; otherwise available (no due
             dates in 949).
"""

import os
import subprocess
import tempfile
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
    cur = d.get("k") or ""
    if cur == "CHECKEDOUT":
        status = "on_loan"
    elif cur == "HOLDS":
        status = "held"          # on the hold shelf for another patron
    elif cur in ("LOST", "MISSING", "DISCARD", "WITHDRAWN", "DAMAGE", "DAMAGED", "BINDERY",
                 "REPAIR", "INTRANSIT", "TRANSIT") or cur.startswith("LOST-"):
        status = "unavailable"
    elif cur in ("ON-ORDER", "INPROCESS", "REFERENCE"):
        status = "not_for_loan"
    else:
        status = "available"
    return {"branch": d.get("m"), "call_number": d.get("a"),
            "location": d.get("l"), "status": status, "due": None}


def _record_from_fields(leader, fields, id_tag, id_code, holdings_tag, mk_copy):
    """fields: list of (tag, value) for control fields or
    (tag, [(code, value)]) for data fields."""
    rec = {"leader": leader, "copies": [], "title_a": None, "title_b": None,
           "author": None, "id": None, "names": [], "subjects": [], "topics": [], "genres": [],
           "f007": None, "f008": None}
    for tag, val in fields:
        if tag == "007" and isinstance(val, str) and rec["f007"] is None:
            rec["f007"] = val
        if tag == "008" and isinstance(val, str) and rec["f008"] is None:
            rec["f008"] = val
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
        if tag in ("650", "655"):
            rec["subjects"] += [nfc(v) for c, v in val if c == "a"]
            rec["topics" if tag == "650" else "genres"] += [nfc(v) for c, v in val if c == "a"][:1]
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

def load_marc8_iso2709(path, id_tag="001", holdings_tag="949", mk_copy=sirsi949_copy):
    """MARC-8 ISO 2709 records, converted to UTF-8 MARCXML by yaz-marcdump
    (YAZ's command-line tool, a separate path from the daemon's ZOOM
    rendering), then read like the others."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as xml:
        subprocess.run(["yaz-marcdump", "-f", "marc8", "-t", "utf8", "-i", "marc",
                        "-o", "marcxml", path], stdout=xml, stderr=subprocess.DEVNULL,
                       check=True)
        return load_marcxml(xml.name, id_tag=id_tag, holdings_tag=holdings_tag,
                            mk_copy=mk_copy)


class Catalogue:
    """All expected data, loaded once per run (about 2 s)."""

    def __init__(self, catdir):
        self.dir = catdir
        self.demo = load_marcxml(os.path.join(catdir, "demo.xml"))
        self.koha = load_marcxml(os.path.join(catdir, "koha.xml"),
                                 id_tag="999", id_code="c")
        self.jazz = load_marc8_iso2709(os.path.join(catdir, "jazz.mrc"))

    def db(self, name):
        return {"demo": self.demo, "demo-sru": self.demo, "koha": self.koha,
                "jazz": self.jazz}[name]


# ------------------------------------------------------------------ segment
# Format, audience and language as MARC 21 codes them (leader/06-07, 007/00,
# 008/22, 008/23, 008/35-37); None where the record does not say.

def segment(rec):
    leader, f007, f008 = rec["leader"] or "", rec["f007"] or "", rec["f008"] or ""
    rtype = leader[6] if len(leader) > 6 else ""
    level = leader[7] if len(leader) > 7 else ""
    fixed = len(f008) >= 38
    coded = fixed and rtype in "acdgijkmort" and rtype != ""
    form = f008[23] if coded else ""
    if level == "s":
        fmt = "periodical"
    elif rtype in ("a", "t"):
        fmt = ("large_print" if form == "d" else
               "ebook" if form in ("o", "q", "s") or f007[:1] == "c" else "book")
    elif rtype == "i":
        fmt = "audiobook"
    elif rtype == "j":
        fmt = "music"
    elif rtype == "g":
        fmt = "dvd" if f007[:1] in ("v", "") else None
    else:
        fmt = None
    aud = None
    if coded and level != "s":
        aud = {"a": "juvenile", "b": "juvenile", "c": "juvenile", "d": "juvenile",
               "j": "juvenile", "e": "adult", "f": "adult", "g": "adult"}.get(f008[22])
    lang = f008[35:38] if fixed else ""
    if not (len(lang) == 3 and lang.isalpha() and lang.islower()) or lang in ("und", "zxx", "mul"):
        lang = None
    return {"format": fmt, "audience": aud, "language": lang}


def fits(wanted, cand, dims=("format", "audience", "language")):
    """Whether record cand fits record wanted on dims: equal, or either unknown."""
    w, c = segment(wanted), segment(cand)
    return all(w[d] is None or c[d] is None or w[d] == c[d] for d in dims)


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
