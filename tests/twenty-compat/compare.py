#!/usr/bin/env python3
"""fake-twenty against a real Twenty: one list of requests, both servers, every answer compared.

    tests/twenty-compat/compare.py --real http://127.0.0.1:3000 --real-token "$(cat TOKEN)" \
        --fake-bin target/debug/fake-twenty [--real-expired-token T] [--real-guest-token T] [-v]

The real server is the June 2025 Twenty (upstream twentyhq/twenty 7f19111, between v0.54 and
v0.55) that ../shared/tools/real-twenty/ builds; the fake is started here as
`fake-twenty --port 0 --twenty-version 2025-06 …` (its first stdout line says where it listens)
and stopped at the end.

Each request's answer is normalised (ids, timestamps and cursors become placeholders that keep
their shape: `<uuid>`, `<iso-ms>`, `<cursor:id>`; the run's random email part `<run>`; key
order ignored) and the two servers' answers are compared: status, envelope keys, error texts and
codes, value types, what a filter matched, timestamp precision. A difference that remains by
design is listed in ALLOWED below with its reason (and in docs/twenty-api.md §11); the script
exits 1 on any other difference, and also when an ALLOWED entry no longer matches a difference,
so the list stays true.

The real server must already hold the `repProgression` object with RepXP's fields; on the fake
they are created when missing. The script changes nothing on the real server but records whose
emails are `compat-<random>…@acme.test`, and destroys those at the end. Python 3 standard
library only.
"""

import argparse
import base64
import fnmatch
import json
import random
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

# Differences that stay, each with its reason: (step glob, path glob, reason). A path is the
# dotted path in the step's summary (`body.data.createRepProgression.searchVector`); `<absent>`
# marks a key one side lacks.
ALLOWED = [
    (
        "rest_*",
        "*.searchVector",
        "searchVector (TS_VECTOR, Postgres' tsvector of the record's text) is not modelled: "
        "RepXP never reads it",
    ),
    (
        "metadata_list",
        "rep_object_keys.*",
        "the fake's objects lack the relation fields Twenty adds to every custom object "
        "(attachments, favorites, noteTargets, taskTargets, timelineActivities) and searchVector",
    ),
    (
        "metadata_list",
        "rep_object.description",
        "description and icon are whatever the real object was created with; the fake's object "
        "has none",
    ),
    (
        "metadata_list",
        "rep_object.icon",
        "description and icon are whatever the real object was created with; the fake's object "
        "has none",
    ),
    (
        "client_config",
        "values.*",
        "deployment settings (debug mode, prefilled sign-in, feature flags, config in the "
        "database) differ between the development server and the fake's production-like answer",
    ),
]


UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d+))?Z$")
RAW_ID_RE = re.compile(r"'[0-9a-fA-F-]{36}(ore)?'")

REP_FIELDS = {
    "repEmail": ("TEXT", "EMAILS"),
    "totalXp": ("NUMBER",),
    "level": ("NUMBER",),
    "defeatedBosses": ("TEXT",),
    "passedExams": ("TEXT",),
    "efficiencyMetrics": ("TEXT",),
    "syncWatermarks": ("TEXT",),
    "syncRevision": ("NUMBER",),
    "lastActivityDate": ("DATE_TIME",),
}

# The selection RepXP's engine sends (src-tauri/engine/src/twenty/graphql.rs).
SELECTION = (
    "{ id name createdAt updatedAt deletedAt totalXp level defeatedBosses passedExams "
    "efficiencyMetrics lastActivityDate syncWatermarks syncRevision repEmail }"
)
CAS = (
    "mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) "
    "{ updateRepProgressions(filter: $filter, data: $data) " + SELECTION + " }"
)
FIND = (
    "query RepXPFind($filter: RepProgressionFilterInput!) "
    "{ repProgressions(filter: $filter, first: 60) { edges { node " + SELECTION + " } } }"
)
ZERO_ID = "00000000-0000-4000-8000-000000000000"


class Server:
    """One Twenty: base URL, key, and the ids this run created there."""

    def __init__(self, name, base, token, expired=None, guest=None):
        self.name = name
        self.base = base.rstrip("/")
        self.token = token
        self.expired = expired
        self.guest = guest
        self.ids = {}

    def request(self, method, path, body=None, token="<key>", raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        # Percent-encode as a client does (`"`, `%`, `[`, `]`, `@`, spaces): the real server
        # also takes some of them raw, the fake's HTTP parser does not.
        path = urllib.parse.quote(path, safe="/?&=:,()*!$;~'-._")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        tok = self.token if token == "<key>" else token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def gql(self, query, variables=None, token="<key>"):
        return self.request("POST", "/graphql", {"query": query, "variables": variables or {}}, token)

    def plural(self, path_and_query):
        return self.request("GET", "/rest/repProgressions" + path_and_query)


def cursor_shape(s):
    try:
        decoded = json.loads(base64.b64decode(s + "=" * (-len(s) % 4), validate=True).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(decoded, dict):
        return "<cursor:" + ",".join(decoded.keys()) + ">"
    return None


def norm(v, run, key=None):
    """Placeholders for what differs by nature between two servers, keeping shape and type."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "createdBy" and isinstance(x, dict) and "name" in x:
                x = dict(x, name="<key-name>")
            out[k] = norm(x, run, k)
        return out
    if isinstance(v, list):
        return [norm(x, run) for x in v]
    if key == "position" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return "<position:%s>" % type(v).__name__
    if isinstance(v, str):
        s = v.replace(run, "<run>")
        m = ISO_RE.match(s)
        if m:
            digits = len(m.group(2) or "")
            return {0: "<iso-s>", 3: "<iso-ms>", 6: "<iso-us>"}.get(digits, "<iso-%d>" % digits)
        if UUID_RE.fullmatch(s):
            return "<uuid>"
        shape = cursor_shape(s) if len(s) >= 12 and "@" not in s and " " not in s else None
        if shape:
            return shape
        return UUID_RE.sub("<uuid>", s)
    return v


def plain(status, body, run):
    return {"status": status, "body": norm(body, run)}


def by_email(records):
    def email(r):
        e = r.get("repEmail")
        return (e.get("primaryEmail") if isinstance(e, dict) else e) or ""

    return sorted(records, key=email)


# ---------------------------------------------------------------------------------------------
# The requests. Each step takes a server and the run's random part, and returns a summary.

def steps(run):
    a = "compat-%s-a@acme.test" % run
    b = "compat-%s-b@acme.test" % run
    c = "compat-%s-c@acme.test" % run
    d = "compat-%s-d@acme.test" % run
    like = "compat-%s-%%" % run
    jwt_bad_sig = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.urlsafe_b64encode(
        json.dumps({"sub": ZERO_ID, "type": "API_KEY", "workspaceId": ZERO_ID}).encode()
    ).decode().rstrip("=") + ".c2lnbmF0dXJl"
    out = []

    def step(name):
        def deco(fn):
            out.append((name, fn))
            return fn

        return deco

    # --- authentication -----------------------------------------------------------------
    @step("auth_rest_no_token")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions?limit=1", token=None), run)

    @step("auth_rest_not_a_jwt")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions?limit=1", token="not-a-jwt"), run)

    @step("auth_rest_three_parts_no_json")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions?limit=1", token="a.b.c"), run)

    @step("auth_rest_bad_signature")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions?limit=1", token=jwt_bad_sig), run)

    @step("auth_rest_expired")
    def _(s):
        if not s.expired:
            return {"skipped": True}
        return plain(*s.request("GET", "/rest/repProgressions?limit=1", token=s.expired), run)

    @step("auth_gql_not_a_jwt")
    def _(s):
        return plain(*s.gql(FIND, {"filter": {}}, token="not-a-jwt"), run)

    @step("auth_gql_expired")
    def _(s):
        if not s.expired:
            return {"skipped": True}
        return plain(*s.gql(FIND, {"filter": {}}, token=s.expired), run)

    @step("auth_gql_no_token")
    def _(s):
        return plain(*s.gql(CAS, {"filter": {}, "data": {}}, token=None), run)

    @step("auth_metadata_gql_not_a_jwt")
    def _(s):
        q = "query RepXPObjectFields($id: UUID!) { object(id: $id) { id } }"
        return plain(*s.request("POST", "/metadata", {"query": q, "variables": {"id": ZERO_ID}},
                                token="not-a-jwt"), run)

    # --- public and metadata --------------------------------------------------------------
    @step("client_config")
    def _(s):
        status, body = s.request("GET", "/client-config", token=None)
        return {
            "status": status,
            "keys": sorted(body),
            "appVersion": body.get("appVersion", "<absent>"),
            "sentry": body.get("sentry"),
            "values": {k: v for k, v in body.items() if k not in ("sentry",)},
        }

    @step("metadata_list")
    def _(s):
        status, body = s.request("GET", "/rest/metadata/objects")
        objects = body["data"]["objects"]
        rep = next((o for o in objects if o.get("nameSingular") == "repProgression"), None)
        if rep is None:
            raise SystemExit("%s: no repProgression object" % s.name)
        fields = {f["name"]: f for f in rep.get("fields", [])}
        missing = [n for n in REP_FIELDS if n not in fields]
        if missing:
            raise SystemExit("%s: repProgression lacks %s" % (s.name, ", ".join(missing)))
        return {
            "status": status,
            "top_keys": sorted(body),
            "data_keys": sorted(body["data"]),
            "page_info_keys": sorted(body["pageInfo"]),
            "rep_object": norm({k: v for k, v in rep.items() if k != "fields"}, run),
            "rep_object_keys": {
                "names": sorted(fields),
            },
            "rep_fields": {
                n: {
                    "keys": sorted(fields[n]),
                    "type": fields[n]["type"],
                    "isNullable": fields[n]["isNullable"],
                    "defaultValue": fields[n]["defaultValue"],
                }
                for n in REP_FIELDS
            },
        }

    # --- REST records ----------------------------------------------------------------------
    @step("rest_create_full")
    def _(s):
        status, body = s.request("POST", "/rest/repProgressions", {
            "repEmail": a, "name": a, "totalXp": 40, "level": 1, "syncRevision": 3,
            "defeatedBosses": "[]", "passedExams": "{}", "efficiencyMetrics": "{}",
            "syncWatermarks": "{}", "lastActivityDate": "2026-01-01T10:00:00.123Z",
        })
        s.ids["a"] = body["data"]["createRepProgression"]["id"]
        return plain(status, body, run)

    @step("rest_create_minimal_defaults")
    def _(s):
        status, body = s.request("POST", "/rest/repProgressions", {"repEmail": b})
        s.ids["b"] = body["data"]["createRepProgression"]["id"]
        return plain(status, body, run)

    @step("rest_create_wrong_types_stored_as_null")
    def _(s):
        status, body = s.request("POST", "/rest/repProgressions",
                                 {"repEmail": c, "totalXp": "lots", "level": "12abc",
                                  "syncRevision": "41", "passedExams": 5})
        s.ids["c"] = body["data"]["createRepProgression"]["id"]
        return plain(status, body, run)

    @step("rest_create_duplicate_email")
    def _(s):
        status, body = s.request("POST", "/rest/repProgressions", {"repEmail": d})
        s.ids["d"] = body["data"]["createRepProgression"]["id"]
        status2, body2 = s.request("POST", "/rest/repProgressions", {"repEmail": d})
        if status2 == 201:
            s.ids["d2"] = body2["data"]["createRepProgression"]["id"]
        return {"first": status, "second": plain(status2, body2, run)}

    @step("rest_create_unknown_field")
    def _(s):
        return plain(*s.request("POST", "/rest/repProgressions", {"repEmail": "x", "noSuchField": 1}), run)

    @step("rest_create_null_in_text")
    def _(s):
        return plain(*s.request("POST", "/rest/repProgressions", {"repEmail": "x", "name": None}), run)

    @step("rest_malformed_json")
    def _(s):
        return plain(*s.request("POST", "/rest/repProgressions", raw=b'{"repEmail": '), run)

    @step("rest_find_eq")
    def _(s):
        return plain(*s.plural('?filter=repEmail[eq]:"%s"' % a), run)

    @step("rest_find_ilike_case_variant")
    def _(s):
        status, body = s.plural('?filter=repEmail[ilike]:"%s"' % a.upper())
        return {"status": status, "emails": [norm(r["repEmail"], run) for r in body["data"]["repProgressions"]],
                "totalCount": body["totalCount"]}

    @step("rest_find_eq_case_variant")
    def _(s):
        status, body = s.plural('?filter=repEmail[eq]:"%s"' % a.upper())
        return {"status": status, "count": len(body["data"]["repProgressions"])}

    @step("rest_find_empty_page")
    def _(s):
        return plain(*s.plural('?filter=repEmail[eq]:"%s"' % ("nobody-" + a)), run)

    @step("rest_find_one")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions/" + s.ids["a"]), run)

    @step("rest_find_one_unknown")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions/" + ZERO_ID), run)

    @step("rest_find_one_not_a_uuid")
    def _(s):
        return plain(*s.request("GET", "/rest/repProgressions/not-a-uuid"), run)

    @step("rest_unknown_object")
    def _(s):
        return plain(*s.request("GET", "/rest/noSuchObjects"), run)

    @step("rest_bad_filter_syntax")
    def _(s):
        return plain(*s.plural("?filter=repEmail[equals]:x"), run)

    @step("rest_bad_filter_ends_with")
    def _(s):
        return plain(*s.plural("?filter=repEmail[endsWith]:x"), run)

    @step("rest_unknown_filter_field")
    def _(s):
        return plain(*s.plural('?filter=nope[eq]:"x"'), run)

    @step("rest_filter_number_not_a_number")
    def _(s):
        return plain(*s.plural('?filter=and(repEmail[eq]:"%s",totalXp[eq]:abc)' % a), run)

    @step("rest_update_one")
    def _(s):
        status, body = s.request("PATCH", "/rest/repProgressions/" + s.ids["a"], {"totalXp": 50})
        r = body["data"]["updateRepProgression"]
        return {"status": status, "body": norm(body, run),
                "updatedAt_moved": r["updatedAt"] != r["createdAt"]}

    @step("rest_update_one_wrong_type")
    def _(s):
        return plain(*s.request("PATCH", "/rest/repProgressions/" + s.ids["b"], {"level": "high"}), run)

    @step("rest_update_one_unknown")
    def _(s):
        return plain(*s.request("PATCH", "/rest/repProgressions/" + ZERO_ID, {"totalXp": 1}), run)

    @step("rest_update_many")
    def _(s):
        return plain(*s.request("PATCH", '/rest/repProgressions?filter=repEmail[eq]:"%s"' % a,
                                {"syncRevision": 9}), run)

    @step("rest_restore_routes")
    def _(s):
        one = s.request("PATCH", "/rest/repProgressions/%s/restore" % s.ids["a"], {})
        other = s.request("PATCH", "/rest/restore/repProgressions/" + s.ids["a"], {})
        many = s.request("PATCH", "/rest/repProgressions/restore?filter=id[eq]:%s" % s.ids["a"], {})
        return {"suffix": plain(*one, run), "prefix": plain(*other, run), "many": plain(*many, run)}

    @step("rest_paging_starting_after")
    def _(s):
        pages, cursor = [], None
        for _ in range(5):
            q = '?filter=repEmail[like]:"%s"&limit=2' % like
            if cursor:
                q += "&starting_after=" + cursor
            status, body = s.plural(q)
            rows = body["data"]["repProgressions"]
            pages.append({"status": status, "count": len(rows), "totalCount": body["totalCount"],
                          "pageInfo": norm(body["pageInfo"], run),
                          "ids_ascending": [r["id"] for r in rows] == sorted(r["id"] for r in rows)})
            if not body["pageInfo"].get("hasNextPage"):
                break
            cursor = body["pageInfo"]["endCursor"]
        return {"pages": pages}

    # --- GraphQL ---------------------------------------------------------------------------
    def current(s, key):
        status, body = s.gql(FIND, {"filter": {"id": {"eq": s.ids[key]}}})
        return body["data"]["repProgressions"]["edges"][0]["node"]

    def cas_filter(s, key, rec):
        t = rec["updatedAt"]
        ms = int(t[20:23])
        nxt = t[:20] + "%03d" % (ms + 1) + "Z" if ms < 999 else None
        conds = [{"id": {"eq": s.ids[key]}}, {"deletedAt": {"is": "NULL"}},
                 {"updatedAt": {"gte": t}}]
        if nxt:
            conds.append({"updatedAt": {"lt": nxt}})
        conds += [{"syncRevision": {"eq": rec["syncRevision"]}}, {"totalXp": {"eq": rec["totalXp"]}}]
        return {"and": conds}

    @step("gql_cas_hit")
    def _(s):
        rec = current(s, "a")
        s.ids["a_filter"] = cas_filter(s, "a", rec)
        status, body = s.gql(CAS, {"filter": s.ids["a_filter"], "data": {"totalXp": 55, "syncRevision": 4}})
        return plain(status, body, run)

    @step("gql_cas_miss_stale")
    def _(s):
        return plain(*s.gql(CAS, {"filter": s.ids["a_filter"], "data": {"totalXp": 60}}), run)

    @step("gql_permission_probe")
    def _(s):
        return plain(*s.gql(CAS, {"filter": {"id": {"eq": ZERO_ID}}, "data": {}}), run)

    @step("gql_permission_probe_guest")
    def _(s):
        if not s.guest:
            return {"skipped": True}
        return plain(*s.gql(CAS, {"filter": {"id": {"eq": ZERO_ID}}, "data": {}}, token=s.guest), run)

    @step("gql_find_guest")
    def _(s):
        if not s.guest:
            return {"skipped": True}
        return plain(*s.gql(FIND, {"filter": {"repEmail": {"eq": a}}}, token=s.guest), run)

    @step("gql_find_by_id_or_email")
    def _(s):
        status, body = s.gql(FIND, {"filter": {"or": [{"id": {"eq": s.ids["b"]}},
                                                      {"repEmail": {"ilike": a.upper()}}]}})
        edges = body["data"]["repProgressions"]["edges"]
        body["data"]["repProgressions"]["edges"] = sorted(
            edges, key=lambda e: e["node"]["repEmail"])
        return plain(status, body, run)

    @step("gql_update_one")
    def _(s):
        q = "mutation($id: UUID!, $data: RepProgressionUpdateInput!) { updateRepProgression(id: $id, data: $data) " + SELECTION + " }"
        return plain(*s.gql(q, {"id": s.ids["a"], "data": {"level": 2}}), run)

    @step("gql_create_and_position")
    def _(s):
        q = "mutation($data: RepProgressionCreateInput!) { createRepProgression(data: $data) { id repEmail name totalXp position passedExams createdBy { source name } } }"
        status, body = s.gql(q, {"data": {"repEmail": "compat-%s-e@acme.test" % run, "totalXp": 7}})
        s.ids["e"] = body["data"]["createRepProgression"]["id"]
        return plain(status, body, run)

    @step("gql_soft_delete")
    def _(s):
        q = "mutation($id: UUID!) { deleteRepProgression(id: $id) { id repEmail deletedAt updatedAt } }"
        status, body = s.gql(q, {"id": s.ids["b"]})
        r = body["data"]["deleteRepProgression"]
        return {"status": status, "body": norm(body, run),
                "deletedAt_is_updatedAt": r["deletedAt"] == r["updatedAt"]}

    @step("rest_view_of_trashed")
    def _(s):
        one = s.request("GET", "/rest/repProgressions/" + s.ids["b"])
        listed = s.plural('?filter=and(repEmail[eq]:"%s",deletedAt[is]:NOT_NULL)' % b)
        patch = s.request("PATCH", "/rest/repProgressions/" + s.ids["b"], {"totalXp": 1})
        delete = s.request("DELETE", "/rest/repProgressions/%s?soft_delete=true" % s.ids["b"])
        return {"find_one": plain(*one, run), "list_trash": plain(*listed, run),
                "patch": plain(*patch, run), "delete": plain(*delete, run)}

    @step("gql_trash_lookup")
    def _(s):
        return plain(*s.gql(FIND, {"filter": {"and": [{"deletedAt": {"is": "NOT_NULL"}},
                                                     {"or": [{"id": {"eq": s.ids["b"]}},
                                                             {"repEmail": {"ilike": b}}]}]}}), run)

    @step("gql_find_without_deleted_at_hides_trash")
    def _(s):
        status, body = s.gql(FIND, {"filter": {"repEmail": {"eq": b}}})
        return plain(status, body, run)

    @step("gql_cas_on_trashed")
    def _(s):
        return plain(*s.gql(CAS, {"filter": {"and": [{"id": {"eq": s.ids["b"]}},
                                                    {"deletedAt": {"is": "NULL"}}]},
                                  "data": {"totalXp": 1}}), run)

    @step("gql_update_many_trashed_only_with_deleted_at")
    def _(s):
        return plain(*s.gql(CAS, {"filter": {"and": [{"id": {"eq": s.ids["b"]}},
                                                    {"deletedAt": {"is": "NOT_NULL"}}]},
                                  "data": {"totalXp": 2}}), run)

    @step("gql_update_many_live_and_trashed")
    def _(s):
        status, body = s.gql(CAS, {"filter": {"repEmail": {"in": [b, d]}}, "data": {"level": 5}})
        after = s.gql(FIND, {"filter": {"and": [{"id": {"eq": s.ids["b"]}},
                                               {"deletedAt": {"is": "NOT_NULL"}}]}})[1]
        node = after["data"]["repProgressions"]["edges"][0]["node"]
        return {"answer": plain(status, body, run), "trashed_level_after": node["level"]}

    @step("gql_soft_delete_again_restamps")
    def _(s):
        q = "mutation($id: UUID!) { deleteRepProgression(id: $id) { id deletedAt } }"
        return plain(*s.gql(q, {"id": s.ids["b"]}), run)

    @step("gql_restore")
    def _(s):
        q = "mutation($id: UUID!) { restoreRepProgression(id: $id) { id deletedAt updatedAt createdAt } }"
        status, body = s.gql(q, {"id": s.ids["b"]})
        return plain(status, body, run)

    @step("gql_restore_live")
    def _(s):
        q = "mutation($id: UUID!) { restoreRepProgression(id: $id) { id deletedAt } }"
        return plain(*s.gql(q, {"id": s.ids["b"]}), run)

    @step("gql_destroy_trashed")
    def _(s):
        s.gql("mutation($id: UUID!) { deleteRepProgression(id: $id) { id } }", {"id": s.ids["b"]})
        q = "mutation($id: UUID!) { destroyRepProgression(id: $id) { id repEmail deletedAt } }"
        first = s.gql(q, {"id": s.ids["b"]})
        again = s.gql(q, {"id": s.ids["b"]})
        return {"destroy": plain(*first, run), "again": plain(*again, run)}

    @step("gql_unknown_id_mutations")
    def _(s):
        res = {}
        for m in ("updateRepProgression(id: $id, data: {totalXp: 1})", "deleteRepProgression(id: $id)",
                  "restoreRepProgression(id: $id)", "destroyRepProgression(id: $id)"):
            q = "mutation($id: UUID!) { %s { id } }" % m
            res[m.split("(")[0]] = plain(*s.gql(q, {"id": ZERO_ID}), run)
        return res

    @step("rest_delete_destroys")
    def _(s):
        status, body = s.request("DELETE", "/rest/repProgressions/%s?soft_delete=true" % s.ids["c"])
        trash = s.gql(FIND, {"filter": {"and": [{"id": {"eq": s.ids["c"]}},
                                               {"deletedAt": {"is": "NOT_NULL"}}]}})[1]
        return {"answer": plain(status, body, run),
                "in_trash": len(trash["data"]["repProgressions"]["edges"])}

    @step("gql_wrong_value_types")
    def _(s):
        res = {}
        for name, data in (("string", {"totalXp": "lots"}), ("fraction", {"totalXp": 1.5}),
                           ("numeric_text", {"totalXp": "41"}), ("too_big", {"totalXp": 3000000000}),
                           ("text_as_number", {"repEmail": 5}), ("unknown_field", {"nope": 1})):
            res[name] = plain(*s.gql(CAS, {"filter": {"id": {"eq": s.ids["a"]}}, "data": data}), run)
        return res

    @step("gql_null_in_text_column")
    def _(s):
        return plain(*s.gql(CAS, {"filter": {"id": {"eq": s.ids["a"]}}, "data": {"name": None}}), run)

    @step("gql_bad_filters")
    def _(s):
        res = {}
        for name, f in (("unknown_field", {"nope": {"eq": "x"}}), ("invalid_uuid", {"id": {"eq": "x"}}),
                        ("bad_enum", {"deletedAt": {"is": "MAYBE"}}), ("string_for_int", {"totalXp": {"eq": "5"}}),
                        ("unknown_op", {"repEmail": {"foo": "x"}}), ("bad_date", {"updatedAt": {"gte": "not a date"}})):
            res[name] = plain(*s.gql(FIND, {"filter": f}), run)
        return res

    @step("gql_document_errors")
    def _(s):
        res = {}
        bad_field = FIND.replace("edges { node { id", "edges { node { id nope")
        res["unknown_field"] = plain(*s.gql(bad_field, {"filter": {}}), run)
        sub = FIND.replace("repEmail }", "repEmail { primaryEmail additionalEmails } }")
        res["text_with_subfields"] = plain(*s.gql(sub, {"filter": {}}), run)
        res["object_without_subfields"] = plain(*s.gql(FIND.replace("edges { node { id", "edges { node { id createdBy"), {"filter": {}}), run)
        res["syntax"] = plain(*s.gql("query { repProgressions(first: 1 { id } }"), run)
        res["literal_unknown_filter_field"] = plain(*s.gql('query { repProgressions(filter: {nope: {eq: "x"}}, first: 1) { edges { node { id } } } }'), run)
        res["literal_int"] = plain(*s.gql('query { repProgressions(filter: {totalXp: {eq: "x"}}, first: 1) { edges { node { id } } } }'), run)
        res["missing_variable"] = plain(*s.gql(FIND, {}), run)
        res["null_variable"] = plain(*s.gql(FIND, {"filter": None}), run)
        res["no_query"] = plain(*s.request("POST", "/graphql", {"variables": {}}), run)
        res["two_operations"] = plain(*s.gql("query A { repProgressions { totalCount } } query B { repProgressions { totalCount } }"), run)
        res["malformed_json"] = plain(*s.request("POST", "/graphql", raw=b'{"query": '), run)
        return res

    @step("gql_paging")
    def _(s):
        q = ("query($f: RepProgressionFilterInput, $after: String) { repProgressions(filter: $f, first: 1, after: $after) "
             "{ totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }")
        pages, after = [], None
        for _ in range(6):
            status, body = s.gql(q, {"f": {"repEmail": {"like": like}}, "after": after})
            conn = body["data"]["repProgressions"]
            pages.append(norm({"status": status, "totalCount": conn["totalCount"],
                               "pageInfo": conn["pageInfo"], "count": len(conn["edges"])}, run))
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        return {"pages": pages}

    @step("gql_empty_page")
    def _(s):
        q = "query { repProgressions(filter: {repEmail: {eq: \"nobody@acme.test\"}}) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } }"
        return plain(*s.gql(q), run)

    @step("precision_and_numbers")
    def _(s):
        status, body = s.request("GET", "/rest/repProgressions/" + s.ids["a"])
        r = body["data"]["repProgression"]
        return {"updatedAt": norm(r["updatedAt"], run), "createdAt": norm(r["createdAt"], run),
                "totalXp_type": type(r["totalXp"]).__name__, "totalXp": r["totalXp"],
                "lastActivityDate": r["lastActivityDate"]}

    return out


# ---------------------------------------------------------------------------------------------

def diff(a, b, path=""):
    """Differences between two normalised summaries: (path, real, fake)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            p = "%s.%s" % (path, k) if path else k
            out += diff(a.get(k, "<absent>"), b.get(k, "<absent>"), p)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            out += diff(a[i] if i < len(a) else "<absent>", b[i] if i < len(b) else "<absent>",
                        "%s[%d]" % (path, i))
        return out
    if a == b and type(a) is type(b):
        return []
    return [(path, a, b)]


def ensure_schema(server, create):
    """The `repProgression` object with RepXP's fields: created on the fake when missing."""
    status, body = server.request("GET", "/rest/metadata/objects")
    objects = body["data"]["objects"] if isinstance(body.get("data"), dict) else body.get("data", [])
    rep = next((o for o in objects if o.get("nameSingular") == "repProgression"), None)
    if rep is None:
        if not create:
            raise SystemExit("%s has no repProgression object" % server.name)
        _, created = server.request("POST", "/rest/metadata/objects", {
            "nameSingular": "repProgression", "namePlural": "repProgressions",
            "labelSingular": "Rep progression", "labelPlural": "Rep progressions"})
        rep = created.get("data", {}).get("createOneObject", created)
        rep.setdefault("fields", [])
    have = {f["name"] for f in rep.get("fields", [])}
    for name, types in REP_FIELDS.items():
        if name in have:
            continue
        if not create:
            raise SystemExit("%s: repProgression lacks %s" % (server.name, name))
        body = {"objectMetadataId": rep["id"], "type": types[0], "name": name, "label": name}
        if types[0] == "NUMBER":
            body["settings"] = {"dataType": "int", "decimals": 0, "type": "number"}
        server.request("POST", "/rest/metadata/fields", body)


def cleanup(server, run):
    """Destroy every record of this run (trashed ones too)."""
    q = ("query($f: RepProgressionFilterInput) { repProgressions(filter: $f, first: 200) "
         "{ edges { node { id } } } }")
    f = {"and": [{"repEmail": {"like": "compat-%s-%%" % run}},
                 {"or": [{"deletedAt": {"is": "NULL"}}, {"deletedAt": {"is": "NOT_NULL"}}]}]}
    _, body = server.gql(q, {"f": f})
    edges = (body.get("data") or {}).get("repProgressions", {}).get("edges", [])
    for e in edges:
        server.gql("mutation($id: UUID!) { destroyRepProgression(id: $id) { id } }",
                   {"id": e["node"]["id"]})
    return len(edges)


def start_fake(binary, key):
    proc = subprocess.Popen(
        [binary, "--port", "0", "--twenty-version", "2025-06", "--api-key", key,
         "--expired-key", "compat-expired-token", "--read-only-key", "compat-guest-token"],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit("fake-twenty did not start: %r" % line)
    return proc, line[len("listening on "):]


def run_all(server, run):
    results = {}
    for name, fn in steps(run):
        try:
            results[name] = fn(server)
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            results[name] = {"step_failed": "%s: %s" % (type(e).__name__, e)}
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", required=True, help="base URL of the real Twenty")
    ap.add_argument("--real-token", required=True, help="an API key of the real workspace")
    ap.add_argument("--real-expired-token", help="an expired token of the real workspace")
    ap.add_argument("--real-guest-token", help="a token of a member with the Guest role")
    ap.add_argument("--fake-bin", required=True, help="path of the fake-twenty binary")
    ap.add_argument("-v", "--verbose", action="store_true", help="print both summaries")
    args = ap.parse_args()

    run = "%08x" % random.getrandbits(32)
    real = Server("real", args.real, args.real_token, args.real_expired_token, args.real_guest_token)
    fake_key = "compat-key-%s" % run
    proc, url = start_fake(args.fake_bin, fake_key)
    fake = Server("fake", url, fake_key,
                  "compat-expired-token" if args.real_expired_token else None,
                  "compat-guest-token" if args.real_guest_token else None)
    try:
        ensure_schema(real, create=False)
        ensure_schema(fake, create=True)
        try:
            real_results = run_all(real, run)
        finally:
            removed = cleanup(real, run)
        fake_results = run_all(fake, run)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    failures, used = [], set()
    for name, _ in steps(run):
        r, f = real_results.get(name), fake_results.get(name)
        if args.verbose:
            print("== %s\n real: %s\n fake: %s" % (name, json.dumps(r, sort_keys=True), json.dumps(f, sort_keys=True)))
        for path, rv, fv in diff(r, f):
            allowed = [i for i, (sg, pg, _) in enumerate(ALLOWED)
                       if fnmatch.fnmatchcase(name, sg) and fnmatch.fnmatchcase(path, pg)]
            if allowed:
                used.update(allowed)
            else:
                failures.append((name, path, rv, fv))
    stale = [ALLOWED[i] for i in range(len(ALLOWED)) if i not in used]

    steps_count = len(steps(run))
    print("compared %d request groups against %s and fake-twenty 2025-06 (run %s; %d real records "
          "destroyed)" % (steps_count, args.real, run, removed))
    for name, path, rv, fv in failures:
        print("DIFF %s: %s\n  real: %s\n  fake: %s" % (name, path, json.dumps(rv), json.dumps(fv)))
    for sg, pg, reason in stale:
        print("STALE allowlist entry %s %s (no longer differs): %s" % (sg, pg, reason))
    if failures or stale:
        print("FAILED: %d differences, %d stale allowlist entries" % (len(failures), len(stale)))
        return 1
    print("OK: every difference is in the allowlist (%d entries)" % len(ALLOWED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
