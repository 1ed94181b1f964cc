"""Parses Prometheus' text exposition format with prometheus_client's own
parser (Debian's python3-prometheus-client), for test_39_metrics.py: so
it runs under /usr/bin/python3 (the python3 first on PATH may be another,
without Debian's modules).

usage: prom_parse.py < exposition.txt

Prints {"families": [{"name", "type", "help", "samples": [[name, labels,
value], ...]}, ...]} as JSON (values as floats; +Inf as Infinity, which
Python's json reads). Exit 1 with the parser's complaint on stderr when
the text does not parse; 2 when prometheus_client is missing."""

import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prom_parse: no prometheus_client for %s: install python3-prometheus-client "
          "(make deps)" % sys.executable, file=sys.stderr)
    sys.exit(2)


def main():
    text = sys.stdin.buffer.read().decode("utf-8")
    families = []
    try:
        for fam in text_string_to_metric_families(text):
            families.append({"name": fam.name, "type": fam.type, "help": fam.documentation,
                             "samples": [[s.name, s.labels, s.value] for s in fam.samples]})
    except ValueError as e:
        print("prom_parse: %s" % e, file=sys.stderr)
        return 1
    json.dump({"families": families}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
