#!/usr/bin/env python3
"""Validates JSON documents against the OCI image-spec JSON schemas (draft-04) with `jsonschema`.

Usage: validate_oci_schema.py SCHEMA_DIR MEDIA_TYPE=FILE [MEDIA_TYPE=FILE ...]

Prints one JSON object per document: {"file", "mediaType", "valid", "errors"}.
Exits 0 when it could check every document (valid or not), 2 on a usage or setup problem.

Resolution is offline: every schema file is registered under its file name and the aliases of
upstream schema/schema.go. `format: uri` and `format: date-time` are asserted with local checkers
(jsonschema skips them without optional packages), and the non-standard
`media: {binaryEncoding: base64}` keyword is asserted as strict, padded standard base64.
"""
import base64
import binascii
import json
import re
import sys

import jsonschema

try:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
except ImportError:  # jsonschema < 4.18 (Debian bookworm's python3-jsonschema): RefResolver instead
    Registry = None

ALIASES = {
    "config-schema.json": ["https://opencontainers.org/schema/image/config"],
    "content-descriptor.json": [
        "https://opencontainers.org/schema/descriptor",
        "https://opencontainers.org/schema/image/content-descriptor.json",
    ],
    "defs-descriptor.json": [
        "https://opencontainers.org/schema/image/descriptor/mediaType",
        "https://opencontainers.org/schema/defs-descriptor.json",
        "https://opencontainers.org/schema/image/defs-descriptor.json",
    ],
    "defs.json": [
        "https://opencontainers.org/schema/defs.json",
        "https://opencontainers.org/schema/image/defs.json",
        "https://opencontainers.org/schema/image/descriptor/defs.json",
    ],
    "image-index-schema.json": ["https://opencontainers.org/schema/image/index"],
    "image-layout-schema.json": ["https://opencontainers.org/schema/image/layout"],
    "image-manifest-schema.json": ["https://opencontainers.org/schema/image/manifest"],
}

ROOT_SCHEMA = {
    "application/vnd.oci.image.manifest.v1+json": "image-manifest-schema.json",
    "application/vnd.oci.image.index.v1+json": "image-index-schema.json",
    "application/vnd.oci.image.config.v1+json": "config-schema.json",
    "application/vnd.oci.descriptor.v1+json": "content-descriptor.json",
    "application/vnd.oci.layout.header.v1+json": "image-layout-schema.json",
}

URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
                 r"(?:#(?:[A-Za-z0-9\-._~:/?@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)?")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def load_store(schema_dir):
    """Every schema under its file name and each of its aliases."""
    store = {}
    for name, aliases in ALIASES.items():
        with open(f"{schema_dir}/{name}", encoding="utf-8") as handle:
            contents = json.load(handle)
        for uri in [name] + aliases:
            store[uri] = contents
    return store


def make_validator(validator_class, store, root_uri, checker):
    schema = store[root_uri]
    if Registry is not None:
        registry = Registry().with_resources(
            (uri, Resource.from_contents(contents, default_specification=DRAFT4)) for uri, contents in store.items())
        return validator_class(schema, registry=registry, format_checker=checker)
    # The older resolver joins relative refs against nested ids ("…/manifest/annotations"), so
    # resolve by file name: every $ref in these schemas names one of the bundled files.
    def offline(uri):
        name = uri.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if name in store:
            return store[name]
        raise jsonschema.RefResolutionError(f"{uri} is not a bundled schema (resolution is offline)")
    resolver = jsonschema.RefResolver(base_uri=root_uri, referrer=schema, store=store,
                                      handlers={"http": offline, "https": offline})
    return validator_class(schema, resolver=resolver, format_checker=checker)


def media_keyword(validator, media, instance, schema):
    if media.get("binaryEncoding") != "base64" or not isinstance(instance, str):
        return
    try:
        if len(instance) % 4 != 0:
            raise binascii.Error("length is not a multiple of 4")
        base64.b64decode(instance, validate=True)
    except binascii.Error as error:
        yield jsonschema.ValidationError(f"{instance!r} is not padded standard base64: {error}")


def format_checker():
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(lambda value: not isinstance(value, str) or URI.fullmatch(value) is not None)
    checker.checks("date-time")(lambda value: not isinstance(value, str) or DATE_TIME.fullmatch(value) is not None)
    return checker


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir = argv[1]
    store = load_store(schema_dir)
    validator_class = jsonschema.validators.extend(jsonschema.Draft4Validator, {"media": media_keyword})
    checker = format_checker()
    for pair in argv[2:]:
        media_type, _, path = pair.partition("=")
        root = ROOT_SCHEMA.get(media_type)
        if root is None:
            print(f"no schema for media type {media_type}", file=sys.stderr)
            return 2
        validator = make_validator(validator_class, store, ALIASES[root][0], checker)
        errors = []
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
            errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                      for e in validator.iter_errors(document)]
        except ValueError as error:
            errors = [f"not JSON: {error}"]
        print(json.dumps({"file": path, "mediaType": media_type, "valid": not errors, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
