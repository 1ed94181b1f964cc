"""SirsiDynix holdings (sirsi949) served by a real Zebra: a copy on the
hold shelf for another patron ($k HOLDS) is shown as held and never
offered, nor is a copy at the bindery, in transit or lost; what the
current locations say decides the title's status, its alternatives and
its expected date.

The test builds a Zebra register of its own with one database, "sirsi",
of MARC21 records (MARCXML written here, made ISO 2709 by yaz-marcdump)
whose 949s are SirsiDynix item exports: $m library, $a call number, $l
home location, $k current location. Loans on a Redis of the test's own
(loanlab.Lab) tie the wanted title to each of the others."""

import datetime
import json
import os
import subprocess
from xml.sax.saxutils import escape

import harness
from loanlab import Lab
from suite import expect_json

T0 = 1704067200
DAY = 86400
LOAN_DAYS = 21

# id -> (title, [(library, current location or None: on its shelf)])
RECORDS = {
    "s-wanted": ("Het gevraagde boek", [("CEN", "CHECKEDOUT"), ("NRD", "HOLDS")]),
    "s-held": ("Op de reserveringsplank", [("CEN", "HOLDS")]),
    "s-away": ("Overal behalve op de plank", [("CEN", "BINDERY"), ("CEN", "INTRANSIT"),
                                              ("NRD", "LOST-ASSUM")]),
    "s-shelf": ("Gewoon in de kast", [("CEN", None), ("NRD", "HOLDS")]),
    "s-display": ("Op de tentoonstellingstafel", [("CEN", "DISPLAY")]),
}


def _marcxml(rid, title, copies, n):
    items = "".join(
        '<datafield tag="949" ind1=" " ind2=" "><subfield code="a">R %04d</subfield>'
        '<subfield code="m">%s</subfield><subfield code="l">STACKS</subfield>%s</datafield>'
        % (n, lib, '<subfield code="k">%s</subfield>' % k if k else "")
        for lib, k in copies)
    # distinct authors and subjects: the alternatives are the co-borrowed ones
    return ('<record><leader>00000nam a2200000 a 4500</leader>'
            '<controlfield tag="001">%s</controlfield>'
            '<controlfield tag="008">200101s2020    ne            000 1 dut d</controlfield>'
            '<datafield tag="100" ind1="1" ind2=" "><subfield code="a">Schrijver %d</subfield>'
            '</datafield><datafield tag="245" ind1="1" ind2="0"><subfield code="a">%s</subfield>'
            '</datafield>%s</record>' % (escape(rid), n, escape(title), items))


def _iso2709(tmp):
    xml = os.path.join(tmp, "sirsi.xml")
    with open(xml, "w") as f:
        f.write('<collection xmlns="http://www.loc.gov/MARC21/slim">')
        for n, (rid, (title, copies)) in enumerate(sorted(RECORDS.items())):
            f.write(_marcxml(rid, title, copies, n))
        f.write("</collection>")
    r = subprocess.run(["yaz-marcdump", "-i", "marcxml", "-o", "marc", xml], capture_output=True,
                       timeout=30)
    assert r.returncode == 0 and r.stdout, r.stderr.decode()[-2000:]
    data, recs, i = r.stdout, [], 0
    while i < len(data):
        n = int(data[i:i + 5])
        recs.append(data[i:i + n])
        i += n
    assert len(recs) == len(RECORDS), len(recs)
    return recs


def _ask(lab, rid):
    return expect_json(harness.http_request(
        lab.port, "GET", "/v1/alternatives?record=%s&catalogue=sirsi&limit=10&lang=nl&branch=CEN"
        % rid), 200)


def test_sirsi_current_locations_end_to_end(ctx):
    out = os.path.join(ctx.stack.tmp, "sirsi-catalogue")
    os.makedirs(out + "-src")
    harness.zebra_register(ctx.cat.dir, out, {"sirsi": _iso2709(out + "-src")})
    zebra, zport = harness.zebra_serve(ctx.stack, out, "sirsi")
    try:
        with Lab(ctx, "sirsi", daemon=False) as lab:
            base = dict(lab.cfg["catalogues"][0])
            base.update({"name": "sirsi", "protocol": "z3950", "holdings": "sirsi949",
                         "id_field": "001", "cache_ms": 0,
                         "loan_period_days": LOAN_DAYS,
                         "target": "127.0.0.1:%d/sirsi" % zport})
            lab.cfg["catalogues"] = [base]
            lab.config_path = ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
            lab.start_daemon()
            # six patrons borrow the wanted title with every other one
            ev = [{"patron": "scard-%d" % i, "record": rid, "time": T0 + i * DAY + k * 3600}
                  for i in range(6) for k, rid in enumerate(sorted(RECORDS))]
            expect_json(lab.post_loans(json.dumps(ev)), 202)
            lab.settled()

            j = _ask(lab, "s-wanted")
            # its one copy on a shelf waits for another patron: on loan
            assert j["status"] == "on_loan", j
            assert [(c["branch"], c["status"]) for c in j["copies"]] == \
                [("CEN", "on_loan"), ("NRD", "held")], j["copies"]
            also = [a["record"] for a in j["alternatives"]]
            assert sorted(also) == ["s-display", "s-shelf"], \
                "only titles with a copy on a shelf are offered: %s" % j["alternatives"]
            shelf = [a for a in j["alternatives"] if a["record"] == "s-shelf"][0]
            assert all(c["status"] == "available" for c in shelf.get("copies", [])), shelf
            # no due dates in 949: the copy on loan and the held one are both
            # free a loan period from today, the first for this reservation
            today = datetime.datetime.now(datetime.timezone.utc).date()
            ready = {str(today + datetime.timedelta(days=LOAN_DAYS + d)) for d in (-1, 0, 1)}
            assert j["expected_available"] in ready, (j["expected_available"], ready)

            for rid in ("s-held", "s-away"):
                k = _ask(lab, rid)
                assert k["status"] == "on_loan", (rid, k)
                assert not [c for c in k["copies"] if c["status"] == "available"], k["copies"]
            away = _ask(lab, "s-away")
            assert sorted(c["status"] for c in away["copies"]) == ["unavailable"] * 3, away
            for rid in ("s-shelf", "s-display"):
                assert _ask(lab, rid)["status"] == "available", rid
    finally:
        zebra.stop()
