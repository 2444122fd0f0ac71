#!/usr/bin/env python3
"""Validates a `secintake advisory` JSON export against the official schema of its format.

    validate-advisory.py osv|cve|ghsa FILE   (FILE may be - for stdin; a JSON array is one
                                             document per element)

- osv:  the OSV schema shipped in PyPI `osv` (osv/osv-schema/validation/schema.json);
- cve:  the CVE JSON 5.1.1 CNA published container shipped in PyPI `cvelib`
        (cvelib/schemas/CVE_JSON_cnaPublishedContainer_5.1.1.json);
- ghsa: the request body of `security-advisories/create-repository-advisory` in GitHub's
        REST description shipped in npm `@octokit/openapi` (generated/api.github.com.deref.json,
        $refs already resolved), OpenAPI 3.0 `nullable` read as JSON Schema's `null` type.

Exit 0 valid, 1 invalid (every error printed), 3 a schema or library is missing (how to
install it printed).
"""

import json
import os
import subprocess
import sys

INSTALL = (
    "install the official schemas: scripts/setup-debian.sh (as root), or "
    "`/usr/bin/python3 -m pip install --break-system-packages 'osv==0.0.22' 'cvelib==1.8.0' "
    "'jsonschema>=4.18,<5'` and `npm install -g @octokit/openapi@23.0.2`"
)


def missing(what):
    print(f"validate-advisory: {what} is missing; {INSTALL}", file=sys.stderr)
    sys.exit(3)


def osv_schema():
    try:
        import osv  # noqa: F401  (PyPI `osv`)
    except ImportError:
        missing("the Python package osv")
    path = os.path.join(os.path.dirname(osv.__file__), "osv-schema", "validation", "schema.json")
    if not os.path.exists(path):
        missing(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cve_schema():
    try:
        import cvelib
    except ImportError:
        missing("the Python package cvelib")
    path = os.path.join(os.path.dirname(cvelib.__file__), "schemas", "CVE_JSON_cnaPublishedContainer_5.1.1.json")
    if not os.path.exists(path):
        missing(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def openapi_nullable(node):
    """OpenAPI 3.0 `nullable: true` as JSON Schema: the type (and enum) also admit null."""
    if isinstance(node, list):
        return [openapi_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    return out


def ghsa_schema():
    root = os.environ.get("OCTOKIT_OPENAPI_DIR")
    if not root:
        try:
            npm_root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            missing("npm (to find the global @octokit/openapi)")
        root = os.path.join(npm_root, "@octokit", "openapi")
    path = os.path.join(root, "generated", "api.github.com.deref.json")
    if not os.path.exists(path):
        missing(f"the npm package @octokit/openapi ({path})")
    with open(path, encoding="utf-8") as f:
        api = json.load(f)
    for ops in api["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and op.get("operationId") == "security-advisories/create-repository-advisory":
                return openapi_nullable(op["requestBody"]["content"]["application/json"]["schema"])
    missing("the operation security-advisories/create-repository-advisory in @octokit/openapi")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("osv", "cve", "ghsa"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    fmt, file = sys.argv[1], sys.argv[2]
    try:
        import jsonschema
    except ImportError:
        missing("the Python package jsonschema")
    schema = {"osv": osv_schema, "cve": cve_schema, "ghsa": ghsa_schema}[fmt]()
    text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()
    doc = json.loads(text)
    docs = doc if isinstance(doc, list) else [doc]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = []
    for i, d in enumerate(docs):
        for e in validator.iter_errors(d):
            errors.append(f"document {i}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
        if fmt == "ghsa" and d.get("severity") is not None and d.get("cvss_vector_string") is not None:
            # The schema's own words: "You must choose between setting this field or ...".
            errors.append(f"document {i}: both severity and cvss_vector_string are set")
    for e in errors:
        print(e)
    if errors:
        sys.exit(1)
    print(f"{fmt}: {len(docs)} document(s) valid against {schema.get('$id') or schema.get('title') or 'the official schema'}")


if __name__ == "__main__":
    main()
