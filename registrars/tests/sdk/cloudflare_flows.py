"""The Cloudflare mock through the official `cloudflare` SDK: token check,
zone lookup (assigned name servers), child NS and DS records with the
SDK's name filters, duplicate refusals, and zone DNSSEC. Run by
tests/it/sdk.rs against a mock on 127.0.0.1; prints "ok" when every
check held."""

import os

import cloudflare
from cloudflare import Cloudflare

cf = Cloudflare(api_token=os.environ["CF_TOKEN"], base_url=os.environ["MOCK_BASE_URL"], max_retries=0)
DIGEST = "cd" * 32
SUB = "sub.example.com"

assert cf.user.tokens.verify().status == "active"

zones = list(cf.zones.list(name="example.com"))
assert [z.name for z in zones] == ["example.com"], zones
zone = zones[0]
assert sorted(zone.name_servers) == ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"], zone
zid = zone.id
assert [z.id for z in cf.zones.list(name="example.com", account={"id": zone.account.id})] == [zid]
assert list(cf.zones.list(name="example.com", account={"id": "another-account"})) == []
assert cf.zones.get(zone_id=zid).name == "example.com"


def ns_at_sub():
    found = cf.dns.records.list(zone_id=zid, type="NS", name={"exact": SUB})
    return sorted((r.content, r.ttl) for r in found)


# Child delegation: one record per server, listed with the SDK's filters.
assert ns_at_sub() == []
made = [
    cf.dns.records.create(zone_id=zid, type="NS", name=SUB, content=host, ttl=3600)
    for host in ("ns1.openova.io", "ns2.openova.io")
]
assert ns_at_sub() == [("ns1.openova.io", 3600), ("ns2.openova.io", 3600)]
assert [r.name for r in cf.dns.records.list(zone_id=zid, type="NS", name={"endswith": ".example.com"})] == [SUB, SUB]
assert list(cf.dns.records.list(zone_id=zid, type="NS", name={"exact": "other.example.com"})) == []
try:
    cf.dns.records.create(zone_id=zid, type="NS", name=SUB, content="ns1.openova.io", ttl=3600)
    raise AssertionError("a duplicate record must be refused")
except cloudflare.BadRequestError as e:
    assert "81057" in str(e) or "81058" in str(e), e
try:
    cf.dns.records.create(zone_id=zid, type="A", name=SUB, content="192.0.2.1", ttl=3600)
    raise AssertionError("A beside NS must be refused")
except cloudflare.BadRequestError as e:
    assert "81056" in str(e), e

# Child DS with its data object.
ds = cf.dns.records.create(
    zone_id=zid,
    type="DS",
    name=SUB,
    ttl=3600,
    data={"key_tag": 12345, "algorithm": 13, "digest_type": 2, "digest": DIGEST},
)
got = cf.dns.records.get(dns_record_id=ds.id, zone_id=zid)
assert got.type == "DS" and got.data.key_tag == 12345, got

# Replace one server (PUT), change a TTL (PATCH), then remove them all.
cf.dns.records.update(dns_record_id=made[1].id, zone_id=zid, type="NS", name=SUB, content="ns3.openova.io", ttl=3600)
cf.dns.records.edit(dns_record_id=made[0].id, zone_id=zid, type="NS", name=SUB, content="ns1.openova.io", ttl=7200)
assert ns_at_sub() == [("ns1.openova.io", 7200), ("ns3.openova.io", 3600)]
for r in made + [ds]:
    assert cf.dns.records.delete(dns_record_id=r.id, zone_id=zid).id == r.id
assert ns_at_sub() == []

# Zone DNSSEC: the DS Cloudflare publishes, then disabled.
sec = cf.dns.dnssec.get(zone_id=zid)
assert (sec.status, sec.key_tag, sec.algorithm) == ("active", 2371, "13"), sec
assert sec.ds and sec.digest, sec
assert cf.dns.dnssec.edit(zone_id=zid, status="disabled").status in ("disabled", "pending-disabled")
cf.dns.dnssec.delete(zone_id=zid)
assert cf.dns.dnssec.get(zone_id=zid).status in ("disabled", "pending-disabled")

print("ok")
