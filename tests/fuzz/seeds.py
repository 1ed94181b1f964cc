#!/usr/bin/env python3
"""Seed corpus for tests/fuzz/fuzz_marc.c, made from the shared MARC data:
every record of the Koha sample (MARC 21, UTF-8, 952 items) and of the
Evergreen jazz set (MARC-8, 949 items), each as ISO 2709 and as MARCXML
(yaz-marcdump; MARC-8 converted to UTF-8), each behind the selector byte
fuzz_marc.c reads (bit 0 XML, bit 1 sirsi949, bit 2 MARC-8, bit 3 id in
999 $c: the Koha records have their biblionumber there).

usage: seeds.py SHARED_DATA_DIR OUT_DIR   (OUT_DIR is emptied first)
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

MARCXML_NS = "http://www.loc.gov/MARC21/slim"
SOURCES = [
    # name, file under SHARED_DATA_DIR, selector (ISO 2709), yaz-marcdump charset
    ("koha", "koha-sample/koha_sample_436.mrc", 0b1000, "utf-8"),
    ("jazz", "evergreen-jazz/jazz_1k.mrc", 0b0110, "marc-8"),
]


def iso_records(data):
    i = 0
    while i + 5 <= len(data):
        n = int(data[i:i + 5])
        yield data[i:i + n]
        i += n


def xml_records(path, charset):
    out = subprocess.run(["yaz-marcdump", "-i", "marc", "-o", "marcxml",
                          "-f", charset, "-t", "utf-8", path],
                         check=True, capture_output=True).stdout
    ET.register_namespace("", MARCXML_NS)
    root = ET.fromstring(out)
    for rec in root.findall("{%s}record" % MARCXML_NS):
        yield ET.tostring(rec, encoding="utf-8")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    data_dir, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    total = 0
    for name, rel, sel, charset in SOURCES:
        path = os.path.join(data_dir, rel)
        with open(path, "rb") as f:
            isos = list(iso_records(f.read()))
        xmls = list(xml_records(path, charset))
        if len(xmls) != len(isos):
            sys.exit("seeds.py: %s: %d records but %d in MARCXML" % (path, len(isos), len(xmls)))
        for i, (iso, xml) in enumerate(zip(isos, xmls)):
            with open(os.path.join(out, "%s-%04d.iso" % (name, i)), "wb") as f:
                f.write(bytes([sel]) + iso)
            with open(os.path.join(out, "%s-%04d.xml" % (name, i)), "wb") as f:
                f.write(bytes([sel | 1]) + xml)
        total += 2 * len(isos)
    print("seeds.py: %d seeds in %s" % (total, out))


if __name__ == "__main__":
    main()
