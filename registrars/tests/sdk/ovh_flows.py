"""The OVH mock through the official python-ovh SDK: name servers, tasks
(listing with filters, polling, cancel, relaunch, accelerate), glue, DS
(registry keys, and a hosted zone's DNSSEC switch) and child NS records in
a hosted zone. Run by tests/it/sdk.rs against a
mock on 127.0.0.1; prints "ok" when every check held."""

import json
import os
import urllib.request

import ovh

BASE = os.environ["MOCK_BASE_URL"]  # http://127.0.0.1:PORT/1.0
ROOT = os.environ["MOCK_ROOT"]
KSK_FLAGS, KSK_ALG, KSK_KEY = 257, 13, os.environ["KSK_PUBLIC_KEY"]
KSK_TAG = int(os.environ["KSK_TAG"])

# The SDK takes endpoint names only; register the mock under its own.
ovh.client.ENDPOINTS["loopback-mock"] = BASE
client = ovh.Client(
    endpoint="loopback-mock",
    application_key=os.environ["OVH_AK"],
    application_secret=os.environ["OVH_AS"],
    consumer_key=os.environ["OVH_CK"],
)


def inject_task_failure(message):
    body = json.dumps({"fault": {"kind": "fail_task", "message": message}, "times": 1})
    req = urllib.request.Request(
        ROOT + "/_mock/faults",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req).read()


def finish(domain, task):
    """Polls a task until it leaves todo/doing; returns its last state."""
    for _ in range(20):
        task = client.get(f"/domain/{domain}/task/{task['id']}")
        if task["status"] not in ("todo", "doing"):
            return task
    raise AssertionError(f"task {task['id']} never finished")


def tasks(domain, **filters):
    return client.get(f"/domain/{domain}/task", **filters)


d = "example.com"

# Name servers: read, switch to external, replace through a task.
info = client.get(f"/domain/{d}")
assert info["nameServerType"] == "hosted", info
ids = client.get(f"/domain/{d}/nameServer")
hosts = sorted(client.get(f"/domain/{d}/nameServer/{i}")["host"] for i in ids)
assert hosts == ["dns10.ovh.net", "ns10.ovh.net"], hosts
client.put(f"/domain/{d}", nameServerType="external")
assert client.get(f"/domain/{d}")["nameServerType"] == "external"
task = client.post(
    f"/domain/{d}/nameServers/update",
    nameServers=[{"host": "ns1.openova.io"}, {"host": "ns2.openova.io"}],
)
assert (task["function"], task["status"]) == ("DomainDnsUpdate", "todo"), task
assert task["id"] in tasks(d, function="DomainDnsUpdate", status="todo")
assert tasks(d, function="DomainHostCreate") == []
assert tasks(d, status="done") == []
assert finish(d, task)["status"] == "done"
assert task["id"] in tasks(d, function="DomainDnsUpdate", status="done")
ids = client.get(f"/domain/{d}/nameServer")
hosts = sorted(client.get(f"/domain/{d}/nameServer/{i}")["host"] for i in ids)
assert hosts == ["ns1.openova.io", "ns2.openova.io"], hosts

# The add-only calls: one more server (a task), then its entry removed.
task = client.post(f"/domain/{d}/nameServer", nameServer=[{"host": "ns5.openova.io"}])
assert (task["function"], finish(d, task)["status"]) == ("DomainDnsUpdate", "done")
ids = client.get(f"/domain/{d}/nameServer")
added = [i for i in ids if client.get(f"/domain/{d}/nameServer/{i}")["host"] == "ns5.openova.io"]
assert len(added) == 1 and len(ids) == 3, ids
task = client.delete(f"/domain/{d}/nameServer/{added[0]}")
assert finish(d, task)["status"] == "done"
assert len(client.get(f"/domain/{d}/nameServer")) == 2

# Task actions: cancel one not started, relaunch a failed one, accelerate.
task = client.post(f"/domain/{d}/nameServers/update", nameServers=[{"host": "ns9.openova.io"}, {"host": "ns8.openova.io"}])
assert task["canCancel"] is True
client.post(f"/domain/{d}/task/{task['id']}/cancel")
assert client.get(f"/domain/{d}/task/{task['id']}")["status"] == "cancelled"
assert task["id"] in tasks(d, status="cancelled")
inject_task_failure("registry timeout")
task = client.post(f"/domain/{d}/nameServers/update", nameServers=[{"host": "ns3.openova.io"}, {"host": "ns2.openova.io"}])
failed = finish(d, task)
assert (failed["status"], failed["canRelaunch"]) == ("error", True), failed
assert task["id"] in tasks(d, function="DomainDnsUpdate", status="error")
client.post(f"/domain/{d}/task/{task['id']}/relaunch")
assert finish(d, task)["status"] == "done"
ids = client.get(f"/domain/{d}/nameServer")
hosts = sorted(client.get(f"/domain/{d}/nameServer/{i}")["host"] for i in ids)
assert hosts == ["ns2.openova.io", "ns3.openova.io"], hosts
try:
    client.post(f"/domain/{d}/task/{task['id']}/cancel")
    raise AssertionError("a finished task cannot be cancelled")
except ovh.exceptions.APIError as e:
    assert "not allowed" in str(e), e

# Glue host objects.
assert client.get(f"/domain/{d}/glueRecord") == ["ns1.example.com"]
task = client.post(f"/domain/{d}/glueRecord", host="ns2.example.com", ips=["192.0.2.54"])
assert task["function"] == "DomainHostCreate"
client.post(f"/domain/{d}/task/{task['id']}/accelerate")
assert client.get(f"/domain/{d}/task/{task['id']}")["status"] == "done"
assert client.get(f"/domain/{d}/glueRecord", host="ns2") == ["ns2.example.com"]
glue = client.get(f"/domain/{d}/glueRecord/ns2.example.com")
assert (glue["host"], glue["ips"]) == ("ns2.example.com", ["192.0.2.54"]), glue
task = client.post(f"/domain/{d}/glueRecord/ns2.example.com/update", ips=["192.0.2.55"])
assert (task["function"], finish(d, task)["status"]) == ("DomainHostUpdate", "done")
assert client.get(f"/domain/{d}/glueRecord/ns2.example.com")["ips"] == ["192.0.2.55"]
task = client.delete(f"/domain/{d}/glueRecord/ns2.example.com")
assert (task["function"], finish(d, task)["status"]) == ("DomainHostDelete", "done")
assert client.get(f"/domain/{d}/glueRecord") == ["ns1.example.com"]

# DS at the registry: DNSKEYs in, the whole set replaced, empty clears.
s = "signed.org"
assert client.get(f"/domain/{s}/dsRecord") == []
key = {"algorithm": KSK_ALG, "flags": KSK_FLAGS, "publicKey": KSK_KEY, "tag": KSK_TAG}
task = client.post(f"/domain/{s}/dsRecord", keys=[key])
assert (task["function"], finish(s, task)["status"]) == ("DomainDsUpdate", "done")
ids = client.get(f"/domain/{s}/dsRecord", flags=257)
assert len(ids) == 1 and client.get(f"/domain/{s}/dsRecord", flags=256) == [], ids
ds = client.get(f"/domain/{s}/dsRecord/{ids[0]}")
assert (ds["publicKey"], ds["tag"], ds["flags"]) == (KSK_KEY, KSK_TAG, 257), ds
task = client.post(f"/domain/{s}/dsRecord", keys=[])
assert finish(s, task)["status"] == "done"
assert client.get(f"/domain/{s}/dsRecord") == []

# A zone OVH hosts signs itself: its DNSSEC switch.
assert client.get(f"/domain/zone/{d}/dnssec")["status"] == "disabled"
client.post(f"/domain/zone/{d}/dnssec")
assert client.get(f"/domain/zone/{d}/dnssec")["status"] == "enabled"
client.delete(f"/domain/zone/{d}/dnssec")
assert client.get(f"/domain/zone/{d}/dnssec")["status"] == "disabled"

# Child NS records in the hosted zone, live after refresh. OVH's filters
# match with LIKE, so `sub` also lists the seed's `sub2`: re-check each.
z = "example.com"


def ns_at_sub():
    ids = client.get(f"/domain/zone/{z}/record", fieldType="NS", subDomain="sub")
    records = [client.get(f"/domain/zone/{z}/record/{i}") for i in ids]
    return sorted(r["id"] for r in records if r["subDomain"] == "sub"), len(ids)


assert ns_at_sub() == ([], 1), "only sub2 matches"
made = [
    client.post(f"/domain/zone/{z}/record", fieldType="NS", subDomain="sub", target=t, ttl=3600)
    for t in ("ns1.openova.io.", "ns2.openova.io.")
]
client.post(f"/domain/zone/{z}/refresh")
assert ns_at_sub() == (sorted(r["id"] for r in made), 3)
rec = client.get(f"/domain/zone/{z}/record/{made[1]['id']}")
assert (rec["fieldType"], rec["subDomain"], rec["ttl"]) == ("NS", "sub", 3600), rec
client.put(f"/domain/zone/{z}/record/{made[1]['id']}", target="ns3.openova.io.", ttl=7200)
rec = client.get(f"/domain/zone/{z}/record/{made[1]['id']}")
assert (rec["target"], rec["ttl"]) == ("ns3.openova.io.", 7200), rec
for r in made:
    client.delete(f"/domain/zone/{z}/record/{r['id']}")
client.post(f"/domain/zone/{z}/refresh")
assert ns_at_sub() == ([], 1)

print("ok")
