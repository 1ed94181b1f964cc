#!/usr/bin/python3
"""Checks real answers of onloand against docs/openapi.json, with Debian's
python3-jsonschema: so it runs under /usr/bin/python3 (the python3 first
on the PATH, which runs the integration suite, may lack it);
test_38_openapi.py starts it.

usage: openapi_check.py DOCUMENT < cases.json

cases.json: [{"method", "path" (the document's template), "status",
"content_type" (or null), "body" (text)}, ...]. Prints a JSON list of
problems, one string each (empty: all is well); exits 0 unless it could
not run (2: no jsonschema, bad usage)."""

import json
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    print("openapi_check: no jsonschema for %s: install python3-jsonschema (make deps)"
          % sys.executable, file=sys.stderr)
    sys.exit(2)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(doc, node):
    """node, or what its $ref points at (a local JSON pointer)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), "not a local reference: %s" % ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node, out):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.append(node["$ref"])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)
    return out


def check_document(doc):
    problems = []
    if doc.get("openapi") != "3.1.0":
        problems.append("openapi is %r, not 3.1.0" % doc.get("openapi"))
    for k in ("title", "version"):
        if not doc.get("info", {}).get(k):
            problems.append("info.%s missing" % k)
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            problems.append("components.schemas.%s: %s" % (name, e.message))
    for ref in sorted(set(refs(doc, []))):
        try:
            resolve(doc, {"$ref": ref})
        except (KeyError, AssertionError, TypeError) as e:
            problems.append("unresolved $ref %s (%s)" % (ref, e))
    ids = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                problems.append("%s: %s is no method" % (path, method))
                continue
            ids.append(op.get("operationId"))
            if not op.get("responses"):
                problems.append("%s %s: no responses" % (method.upper(), path))
            for p in op.get("parameters", []):
                p = resolve(doc, p)
                if p.get("in") == "path" and "{%s}" % p.get("name") not in path:
                    problems.append("%s %s: path parameter %s not in the path"
                                    % (method.upper(), path, p.get("name")))
    dup = sorted({i for i in ids if ids.count(i) > 1 or not i}, key=str)
    if dup:
        problems.append("operationIds missing or repeated: %s" % dup)
    return problems


def check_case(doc, validator_for, case):
    what = "%s %s -> %s" % (case["method"].upper(), case["path"], case["status"])
    item = doc["paths"].get(case["path"])
    if item is None:
        return ["%s: the path is not in the document" % what]
    op = item.get(case["method"].lower())
    if op is None and case["status"] == 405:
        # a method the path does not take: its 405 as the path's operations document it
        op = next((o for o in item.values() if isinstance(o, dict) and "405" in o.get("responses", {})),
                  None)
    if op is None:
        return ["%s: the method is not in the document" % what]
    responses = op["responses"]
    resp = responses.get(str(case["status"])) or responses.get("%dXX" % (case["status"] // 100)) \
        or responses.get("default")
    if resp is None:
        return ["%s: status not documented (has %s)" % (what, sorted(responses))]
    resp = resolve(doc, resp)
    content = resp.get("content")
    body = case.get("body") or ""
    if not content:
        return ["%s: documented without a body, got %d bytes" % (what, len(body))] if body else []
    ctype = (case.get("content_type") or "").split(";")[0].strip().lower()
    if ctype not in content:
        return ["%s: content type %r not documented (has %s)" % (what, ctype, sorted(content))]
    if ctype != "application/json":
        return []
    try:
        value = json.loads(body)
    except ValueError as e:
        return ["%s: not JSON: %s" % (what, e)]
    schema = content[ctype].get("schema")
    if schema is None:
        return ["%s: no schema for %s" % (what, ctype)]
    errors = sorted(validator_for(schema).iter_errors(value), key=lambda e: list(e.path))
    return ["%s: %s at %s" % (what, e.message[:300], "/".join(map(str, e.path)) or "(root)")
            for e in errors[:5]]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    cases = json.load(sys.stdin)
    problems = check_document(doc)
    resolver = jsonschema.RefResolver.from_schema(doc)

    def validator_for(schema):
        return Draft202012Validator(schema, resolver=resolver,
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)
    for case in cases:
        problems += check_case(doc, validator_for, case)
    print(json.dumps(problems))


if __name__ == "__main__":
    main()
