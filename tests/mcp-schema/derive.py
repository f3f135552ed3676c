#!/usr/bin/env python3
"""Rebuilds the MCP schemas of tests/mcp-schema from the rust-mcp-schema crate on crates.io.

rust-mcp-schema generates its Rust types from the specification's schema.json of each protocol
version, and keeps every definition's JSON schema in the doc comment above the type. This
script gathers them back into one schema per version, under the specification's own names.

The specification's 2025-11-25 schema, vendored as published, checks the method: its
definitions must come out the same here (descriptions aside, which lose their backticks in doc
comments), or the script fails.

    python3 tests/mcp-schema/derive.py            # writes the versions not vendored as published
    python3 tests/mcp-schema/derive.py --check    # only compares, writes nothing
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile

CRATE = "rust-mcp-schema"
CRATE_VERSION = "2.0.0"
VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]
PUBLISHED = "2025-11-25"
HERE = pathlib.Path(__file__).resolve().parent
# The one definition typify renamed beyond letter case.
RUST_NAMES = {"RpcError": "Error"}


def crate_source() -> pathlib.Path:
    """The crate's sources, downloaded by cargo into its registry cache if not there yet."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        (scratch / "src").mkdir()
        (scratch / "src/lib.rs").write_text("")
        (scratch / "Cargo.toml").write_text(
            '[package]\nname = "schema-source"\nversion = "0.0.0"\nedition = "2021"\n'
            f'[dependencies]\n{CRATE} = {{ version = "={CRATE_VERSION}", default-features = false }}\n'
        )
        metadata = subprocess.run(
            ["cargo", "metadata", "--format-version", "1"],
            cwd=scratch,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    for package in json.loads(metadata)["packages"]:
        if package["name"] == CRATE:
            return pathlib.Path(package["manifest_path"]).parent
    sys.exit(f"cargo found no {CRATE} {CRATE_VERSION}")


def definitions(source: pathlib.Path, version: str) -> dict:
    """Every definition of one version, by the name its Rust type has."""
    path = source / "src/generated_schema" / version.replace("-", "_") / "mcp_schema.rs"
    lines = path.read_text().splitlines()
    found, i = {}, 0
    while i < len(lines):
        if lines[i].strip() == "/// ```json":
            end = lines.index("/// ```", i + 1)
            schema = json.loads("\n".join(line[3:] for line in lines[i + 1 : end]))
            i = end
            while not (item := re.match(r"\s*pub (?:struct|enum|type) (\w+)", lines[i])):
                i += 1
            found[item.group(1)] = schema
        i += 1
    return found


def under_spec_names(found: dict) -> dict:
    """Renames the Rust-cased types that definitions refer to (JsonrpcRequest) back to the
    specification's names (JSONRPCRequest)."""
    text = json.dumps(found)
    referred = set(re.findall(r'"\$ref": "#/(?:\$defs|definitions)/(\w+)"', text))
    by_lower = {name.lower(): name for name in found}
    renamed = dict(found)
    for wanted in sorted(referred - set(found)):
        rust = next((r for r, spec in RUST_NAMES.items() if spec == wanted), None)
        rust = rust or by_lower.get(wanted.lower())
        if rust is None:
            sys.exit(f"no definition for {wanted}")
        renamed[wanted] = renamed.pop(rust)
    return renamed


def schema(version: str, defs: dict) -> dict:
    # Versions up to 2025-06-18 are draft-07 (`definitions`), later ones 2020-12 (`$defs`).
    modern = '"#/$defs/' in json.dumps(defs)
    return {
        "$comment": (
            f"MCP {version}, derived by derive.py from {CRATE} {CRATE_VERSION} (crates.io), which "
            "generated it from the specification's schema.json; see README.md."
        ),
        "$schema": "https://json-schema.org/draft/2020-12/schema"
        if modern
        else "http://json-schema.org/draft-07/schema#",
        "$defs" if modern else "definitions": dict(sorted(defs.items())),
    }


def same_rules(value):
    """A definition as a validator reads it: without descriptions, empty `properties`, or
    `additionalProperties: {}`, and with 1.0 as 1."""
    if isinstance(value, dict):
        return {
            key: same_rules(item)
            for key, item in value.items()
            if key != "description"
            and not (key in ("properties", "additionalProperties") and item == {})
        }
    if isinstance(value, list):
        return [same_rules(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def main() -> None:
    check_only = "--check" in sys.argv[1:]
    source = crate_source()
    derived = {v: under_spec_names(definitions(source, v)) for v in VERSIONS}

    # A few unions nothing refers to (JSONRPCMessage) have no doc comment to come back from.
    published = json.loads((HERE / f"{PUBLISHED}.json").read_text())["$defs"]
    shared = [name for name in published if name in derived[PUBLISHED]]
    differing = [
        name
        for name in shared
        if same_rules(published[name]) != same_rules(derived[PUBLISHED][name])
    ]
    if differing:
        sys.exit(f"{PUBLISHED}: derived definitions differ from the published ones: {differing}")
    missing = sorted(set(published) - set(shared))
    print(f"{PUBLISHED}: {len(shared)} of {len(published)} definitions derived alike; not derived: {missing}")

    for version in VERSIONS:
        if version == PUBLISHED:
            continue
        path = HERE / f"{version}.json"
        text = json.dumps(schema(version, derived[version]), indent=2, ensure_ascii=False) + "\n"
        if check_only:
            if not path.exists() or path.read_text() != text:
                sys.exit(f"{path.name} is not what derive.py makes; run it without --check")
            print(f"{version}: up to date")
        else:
            path.write_text(text)
            print(f"{version}: {len(derived[version])} definitions -> {path.name}")


if __name__ == "__main__":
    main()
