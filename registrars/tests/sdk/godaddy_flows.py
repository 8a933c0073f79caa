"""The GoDaddy mock through the `godaddypy` SDK (v1): domain name servers
and child NS records (replace, update, append, delete). Run by
tests/it/sdk.rs against a mock on 127.0.0.1; prints "ok" when every check
held."""

import os

from godaddypy import Account, Client

account = Account(api_key=os.environ["GD_KEY"], api_secret=os.environ["GD_SECRET"])
gd = Client(account, api_base_url=os.environ["MOCK_BASE_URL"] + "/")
d = "example.com"

info = gd.get_domain_info(d)
assert info["nameServers"] == ["ns1.domaincontrol.com", "ns2.domaincontrol.com"], info
assert gd.get_domains() == ["example.com"]
gd.update_domain(d, nameServers=["ns1.openova.io", "ns2.openova.io"])
assert gd.get_domain_info(d)["nameServers"] == ["ns1.openova.io", "ns2.openova.io"]


def ns_at_sub():
    return sorted((r["data"], r["ttl"]) for r in gd.get_records(d, record_type="NS", name="sub"))


assert ns_at_sub() == []
gd.replace_records(
    d,
    [{"data": "ns1.openova.io", "ttl": 3600}, {"data": "ns2.openova.io", "ttl": 3600}],
    record_type="NS",
    name="sub",
)
assert ns_at_sub() == [("ns1.openova.io", 3600), ("ns2.openova.io", 3600)]
gd.add_record(d, {"type": "NS", "name": "sub", "data": "ns3.openova.io", "ttl": 3600})
assert ns_at_sub() == [("ns1.openova.io", 3600), ("ns2.openova.io", 3600), ("ns3.openova.io", 3600)]
assert [r["name"] for r in gd.get_records(d, record_type="NS")].count("sub") == 3
gd.update_record(d, {"data": "ns4.openova.io", "ttl": 7200}, record_type="NS", name="sub")
assert ns_at_sub() == [("ns4.openova.io", 7200)]
gd.delete_records(d, name="sub", record_type="NS")
assert ns_at_sub() == []

print("ok")
