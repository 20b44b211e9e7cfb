"""A case as a CASE/UCO JSON-LD bundle (caseontology.org), for exchange with other tools.

What it says: the investigation; each file with its size and SHA-256 (uco-observable:File with
FileFacet and ContentDataFacet, the hash a uco-types:Hash); a provenance record per item; an
investigative action for how each item was collected (tip, footage request, upload...) and
for each share with a prosecuting office (and its acknowledgement). Playable copies are
linked to their originals by the action that made them.

A body camera's GPS track is one more hashed File (the package's tracks/<item-id>.geojson),
among the objects of its item's provenance record and the results of its collection. Not a
uco-location:Location per position: a Location has no time, so a track of them would lose
what places each position on the video, and a long walk would add thousands of nodes; the
GeoJSON keeps every time and the hash binds it to the exhibit.

Every node IRI ends in a UUID, derived (uuid5) from what the node stands for, so the same
item gets the same IRI in every package. Traps the validator catches (shared/standards.md):
hashMethod is the plain string "SHA256", hashValue is typed xsd:hexBinary, times are typed
xsd:dateTime. `case_validate` takes seconds: the tests run it, requests do not.
"""

import datetime as dt
import uuid

# Fixed namespace for this project's node UUIDs (uuid5 over "<kind>:<id>").
_NS = uuid.UUID("6f1d7a52-3c44-4d5e-9a0b-0c2a8f1e5b77")

CONTEXT = {
    "kb": "urn:canvass:kb:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

COLLECTION_NAMES = {
    "tip": "Received from a resident's tip",
    "footage_request": "Received in answer to a footage request",
    "bodycam": "Offloaded from a body-worn camera",
    "live_clip": "Clipped from a live feed",
    "staff_upload": "Uploaded by staff",
}


TRACK_DESCRIPTION = (
    "GPS track recorded with the video (GeoJSON, RFC 7946): a LineString whose properties give "
    "each position's time (times) and its time on the video (video_seconds)"
)


def node_id(kind: str, key) -> str:
    return f"kb:{kind}-{uuid.uuid5(_NS, f'{kind}:{key}')}"


def ref(iri: str) -> dict:
    return {"@id": iri}


def when(value: dt.datetime) -> dict:
    text = value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"@type": "xsd:dateTime", "@value": text}


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[dict] = []
        # The UcoObjects the investigation lists; facets and hashes belong to their file.
        self.objects: list[str] = []
        self._seen: set[str] = set()

    def add(self, node: dict, *, part: bool = False) -> str:
        if node["@id"] not in self._seen:
            self._seen.add(node["@id"])
            self.nodes.append(node)
            if not part:
                self.objects.append(node["@id"])
        return node["@id"]

    def organization(self, agency) -> str:
        return self.add(
            {
                "@id": node_id("organization", agency.pk),
                "@type": "uco-identity:Organization",
                "uco-core:name": agency.name,
            }
        )

    def person(self, key, name: str) -> str:
        return self.add(
            {
                "@id": node_id("person", key),
                "@type": "uco-identity:Person",
                "uco-core:name": name,
            }
        )

    def file(self, file) -> str:
        """A File node with its name, size, type and SHA-256; `file` is a PackageFile."""
        if file.derivative is not None:
            part = str(file.derivative.pk)
        else:
            part = "original" if file.content is None else "gps-track"
        key = f"{file.item.pk}:{part}"
        hash_id = self.add(
            {
                "@id": node_id("hash", key),
                "@type": "uco-types:Hash",
                "uco-types:hashMethod": "SHA256",
                "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": file.sha256},
            },
            part=True,
        )
        # The name and time are what the package's recipient may see (PackageFile.filename,
        # .capture_time); a sealed original is not in the package, so it has no path there.
        file_facet = {
            "@id": node_id("file-facet", key),
            "@type": "uco-observable:FileFacet",
            "uco-observable:fileName": file.filename or f"{file.item.pk}",
            "uco-observable:sizeInBytes": file.size,
        }
        if not file.sealed and not file.kept_back:
            file_facet["uco-observable:filePath"] = file.path
        if file.derivative is None and file.capture_time is not None:
            file_facet["uco-observable:observableCreatedTime"] = when(file.capture_time)
        content_facet = {
            "@id": node_id("content-data-facet", key),
            "@type": "uco-observable:ContentDataFacet",
            "uco-observable:sizeInBytes": file.size,
            "uco-observable:hash": [ref(hash_id)],
        }
        if file.media_type:
            content_facet["uco-observable:mimeType"] = file.media_type
        self.add(file_facet, part=True)
        self.add(content_facet, part=True)
        node = {
            "@id": node_id("file", key),
            "@type": "uco-observable:File",
            "uco-core:hasFacet": [ref(file_facet["@id"]), ref(content_facet["@id"])],
        }
        if file.content is not None:
            node["uco-core:description"] = TRACK_DESCRIPTION
        return self.add(node)


def case_bundle(*, case, files, shares, generated_at: dt.datetime, tracks=()) -> dict:
    """The JSON-LD document for a package's files and GPS tracks (PackageFile lists) and the
    shares they were in."""
    graph = _Graph()
    agency_id = graph.organization(case.agency)
    file_ids: dict[tuple, str] = {}
    records: dict = {}
    for file in files:
        file_ids[(file.item.pk, file.derivative.pk if file.derivative else None)] = graph.file(file)
    track_ids = {file.item.pk: [ref(graph.file(file))] for file in tracks}

    for file in files:
        item = file.item
        if file.derivative is not None:
            original_id = file_ids.get((item.pk, None))
            graph.add(
                {
                    "@id": node_id("derivation-action", file.derivative.pk),
                    "@type": "case-investigation:InvestigativeAction",
                    "uco-core:name": (
                        f"Made a redacted copy ({file.derivative.kind})"
                        if file.derivative.kind.startswith("redact")
                        else f"Made a playable copy ({file.derivative.kind})"
                    ),
                    "uco-core:description": " ".join(file.derivative.command),
                    "uco-action:startTime": when(file.derivative.created_at),
                    "uco-action:performer": ref(agency_id),
                    "uco-action:object": [ref(original_id)] if original_id else [],
                    "uco-action:result": [ref(file_ids[(item.pk, file.derivative.pk)])],
                }
            )
            continue
        record_id = graph.add(
            {
                "@id": node_id("provenance-record", item.pk),
                "@type": "case-investigation:ProvenanceRecord",
                # The case's exhibit number; an item no longer in the case goes by its id.
                "case-investigation:exhibitNumber": str(file.exhibit or item.pk),
                "uco-core:description": COLLECTION_NAMES.get(item.source, item.source),
                "uco-core:object": [ref(file_ids[(item.pk, None)]), *track_ids.get(item.pk, [])],
            }
        )
        records[item.pk] = record_id
        performer = (
            graph.person(item.uploaded_by_id, item.uploaded_by_label)
            if item.uploaded_by_id
            else agency_id
        )
        graph.add(
            {
                "@id": node_id("collection-action", item.pk),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": COLLECTION_NAMES.get(item.source, item.source),
                "uco-core:description": f"Source reference: {item.source_ref}"
                if item.source_ref
                else "",
                "uco-action:startTime": when(item.received_at),
                "uco-action:endTime": when(item.received_at),
                "uco-action:performer": ref(performer),
                "uco-action:result": [
                    ref(file_ids[(item.pk, None)]),
                    *track_ids.get(item.pk, []),
                    ref(record_id),
                ],
            }
        )

    for share, shared in shares:
        recipient_id = graph.organization(share.recipient_agency)
        shared_files = [ref(file_ids[(item.pk, None)]) for item in shared]
        disclosed_id = graph.add(
            {
                "@id": node_id("share-provenance-record", share.pk),
                "@type": "case-investigation:ProvenanceRecord",
                "uco-core:description": f"Disclosed to {share.recipient_agency.name}",
                "uco-core:object": shared_files,
            }
        )
        share_action = graph.add(
            {
                "@id": node_id("share-action", share.pk),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": f"Shared with {share.recipient_agency.name}",
                "uco-core:description": share.note,
                "uco-action:startTime": when(share.created_at),
                "uco-action:performer": ref(
                    graph.person(share.created_by_id, share.created_by_label)
                ),
                "uco-action:participant": [ref(recipient_id)],
                "uco-action:object": [ref(records[item.pk]) for item in shared],
                "uco-action:result": [ref(disclosed_id)],
            }
        )
        if share.acknowledged_at is not None and share.acknowledged_by_id:
            graph.add(
                {
                    "@id": node_id("acknowledgement-action", share.pk),
                    "@type": "case-investigation:InvestigativeAction",
                    "uco-core:name": "Receipt acknowledged",
                    "uco-action:startTime": when(share.acknowledged_at),
                    "uco-action:performer": ref(
                        graph.person(share.acknowledged_by_id, share.acknowledged_by.label)
                    ),
                    "uco-action:object": [ref(disclosed_id)],
                    "case-investigation:wasInformedBy": [ref(share_action)],
                }
            )

    investigation = {
        "@id": node_id("investigation", case.pk),
        "@type": "case-investigation:Investigation",
        "uco-core:name": case.number,
        "uco-core:description": case.title,
        "case-investigation:investigationStatus": case.status,
        "uco-core:objectCreatedTime": when(generated_at),
        "uco-core:object": [ref(iri) for iri in graph.objects],
    }
    if case.incident_time is not None:
        investigation["case-investigation:focus"] = (
            f"Incident at {when(case.incident_time)['@value']}"
        )
    # Empty descriptions say nothing: leave them out rather than state "".
    for node in graph.nodes:
        if node.get("uco-core:description") == "":
            del node["uco-core:description"]
    return {"@context": CONTEXT, "@graph": [investigation, *graph.nodes]}
