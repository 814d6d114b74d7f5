"""Which permission each blob request needs when the caller is a Microsoft Entra principal."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from devstack.blobauth import (
    BLOB_ADD,
    BLOB_DELETE,
    BLOB_READ,
    BLOB_WRITE,
    CONTAINER_WRITE,
    DELEGATION_KEY,
    TAGS_WRITE,
    required,
)


@pytest.mark.parametrize(("method", "container", "blob", "query", "need"), [
    ("POST", "", "", "restype=service&comp=userdelegationkey", ((DELEGATION_KEY, False),)),
    ("PUT", "incidents", "", "restype=container", ((CONTAINER_WRITE, False),)),
    ("GET", "ring", "", "restype=container&comp=list&prefix=a", ((BLOB_READ, True),)),
    ("GET", "ring", "a/b.cap", "", ((BLOB_READ, True),)),
    ("HEAD", "ring", "a/b.cap", "", ((BLOB_READ, True),)),
    ("PUT", "incidents", "run/x.cap", "", ((BLOB_WRITE, True), (BLOB_ADD, True))),  # Put Blob, copies
    ("PUT", "incidents", "run/x.cap", "comp=block&blockid=AA", ((BLOB_WRITE, True), (BLOB_ADD, True))),
    ("DELETE", "ring", "a/b.cap", "", ((BLOB_DELETE, True),)),
    ("PUT", "ring", "a/b.cap", "comp=tags", ((TAGS_WRITE, True),)),
    ("GET", "", "", "restype=service&comp=properties", ()),  # not mapped: forwarded unchecked
])
def test_each_blob_operation_needs_its_documented_permission(method, container, blob, query, need):
    assert required(method, container, blob, parse_qs(query)) == need
