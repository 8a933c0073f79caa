//! The objects PowerDNS hands to LUA scripts, as Lua userdata: addresses
//! (`who`, `bestwho`, `newCA`, `newCAFromRaw`), netmasks (`ecswho`,
//! `newNetmask`), netmask groups (`newNMG`) and names (`qname`, `zone`,
//! `newDN`), with the methods scripts call on them (`:toString()`,
//! `:isIPv4()`, `:match()`, `:isPartOf()`, …).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mlua::{AnyUserData, MetaMethod, UserData, UserDataMethods, Value};

use crate::dynamic::hash::burtle_ci;
use crate::dynamic::rule::Netmask;
use crate::wire::Name;

/// A `ComboAddress`: an address and a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ComboAddress {
    pub addr: IpAddr,
    pub port: u16,
}

impl ComboAddress {
    pub fn new(addr: IpAddr) -> ComboAddress {
        ComboAddress { addr, port: 0 }
    }

    /// `newCA('192.0.2.1')`, `newCA('192.0.2.1:53')`, `newCA('[2001:db8::1]:53')`.
    pub fn parse(text: &str) -> Option<ComboAddress> {
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Some(ComboAddress::new(addr));
        }
        let sa: std::net::SocketAddr = text.parse().ok()?;
        Some(ComboAddress {
            addr: sa.ip(),
            port: sa.port(),
        })
    }

    fn with_port(&self) -> String {
        match self.addr {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

impl UserData for ComboAddress {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        for name in ["toString", "tostring"] {
            m.add_method(name, |_, this, ()| Ok(this.addr.to_string()));
        }
        for name in ["toStringWithPort", "tostringWithPort"] {
            m.add_method(name, |_, this, ()| Ok(this.with_port()));
        }
        m.add_method("getPort", |_, this, ()| Ok(this.port));
        m.add_method("getRaw", |lua, this, ()| match this.addr {
            IpAddr::V4(a) => lua.create_string(a.octets()),
            IpAddr::V6(a) => lua.create_string(a.octets()),
        });
        // PowerDNS compares the addresses only, ports aside.
        m.add_method("equal", |_, this, other: AnyUserData| {
            Ok(other.borrow::<ComboAddress>()?.addr == this.addr)
        });
        m.add_method("isIPv4", |_, this, ()| Ok(this.addr.is_ipv4()));
        m.add_method("isIPv6", |_, this, ()| Ok(this.addr.is_ipv6()));
        m.add_method("isMappedIPv4", |_, this, ()| {
            Ok(matches!(this.addr, IpAddr::V6(a) if a.to_ipv4_mapped().is_some()))
        });
        m.add_method("mapToIPv4", |_, this, ()| {
            let addr = match this.addr {
                IpAddr::V6(a) => a.to_ipv4_mapped().map_or(this.addr, IpAddr::V4),
                v4 => v4,
            };
            Ok(ComboAddress { addr, ..*this })
        });
        m.add_method_mut("truncate", |_, this, bits: u8| {
            this.addr = Netmask {
                addr: this.addr,
                len: bits.min(if this.addr.is_ipv4() { 32 } else { 128 }),
            }
            .network();
            Ok(())
        });
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(this.addr.to_string())
        });
        m.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other.borrow::<ComboAddress>().is_ok_and(|o| *o == *this))
        });
    }
}

impl Netmask {
    /// The network address (host bits cleared).
    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let m = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
            }
            IpAddr::V6(a) => {
                let m = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
            }
        }
    }

    fn text(&self) -> String {
        format!("{}/{}", self.network(), self.len)
    }
}

/// A `ComboAddressSet` (`newCAS()`): addresses, ports aside.
#[derive(Clone, Debug, Default)]
pub(crate) struct AddressSet(pub std::collections::HashSet<IpAddr>);

impl AddressSet {
    /// PowerDNS logs an entry that is not an address and goes on; so does
    /// this (the entries before and after it are added).
    fn add_text(&mut self, text: &str) {
        match ComboAddress::parse(text) {
            Some(a) => {
                self.0.insert(a.addr);
            }
            None => tracing::warn!(target: "dnsd::lua", "newCAS add: '{text}' is not an address"),
        }
    }
}

impl UserData for AddressSet {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // add(address | 'text' | {'text', …})
        m.add_method_mut("add", |_, this, v: Value| {
            match &v {
                Value::UserData(ud) => {
                    this.0.insert(ud.borrow::<ComboAddress>()?.addr);
                }
                Value::Table(t) => {
                    for entry in t.sequence_values::<Value>() {
                        this.add_text(&mlua_text(&entry?)?);
                    }
                }
                other => this.add_text(&mlua_text(other)?),
            }
            Ok(())
        });
        m.add_method("check", |_, this, v: Value| {
            Ok(this.0.contains(&address_arg(&v)?))
        });
    }
}

/// A `Netmask` (`ecswho`, `newNetmask`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LuaNetmask(pub Netmask);

/// An address given as a `ComboAddress` or as text.
fn address_arg(v: &Value) -> mlua::Result<IpAddr> {
    match v {
        Value::UserData(ud) => Ok(ud.borrow::<ComboAddress>()?.addr),
        Value::String(s) => s
            .to_str()?
            .parse()
            .map_err(|_| mlua::Error::runtime(format!("'{}' is not an address", s.display()))),
        other => Err(mlua::Error::runtime(format!(
            "an address is needed, not a {}",
            other.type_name()
        ))),
    }
}

fn netmask_arg(text: &str) -> mlua::Result<Netmask> {
    Netmask::parse(text).ok_or_else(|| mlua::Error::runtime(format!("'{text}' is not a netmask")))
}

impl UserData for LuaNetmask {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("toString", |_, this, ()| Ok(this.0.text()));
        m.add_method("getBits", |_, this, ()| Ok(this.0.len));
        // PowerDNS clears the host bits when it builds a Netmask, so both
        // give the network address.
        m.add_method("getNetwork", |_, this, ()| {
            Ok(ComboAddress::new(this.0.network()))
        });
        m.add_method("getMaskedNetwork", |_, this, ()| {
            Ok(ComboAddress::new(this.0.network()))
        });
        for name in ["isIPv4", "isIpv4"] {
            m.add_method(name, |_, this, ()| Ok(this.0.addr.is_ipv4()));
        }
        for name in ["isIPv6", "isIpv6"] {
            m.add_method(name, |_, this, ()| Ok(this.0.addr.is_ipv6()));
        }
        m.add_method("empty", |_, _, ()| Ok(false));
        m.add_method("match", |_, this, v: Value| {
            Ok(this.0.contains(address_arg(&v)?))
        });
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.0.text()));
    }
}

/// A `NetmaskGroup` (`newNMG`).
#[derive(Clone, Debug, Default)]
pub(crate) struct NetmaskGroup(pub Vec<GroupEntry>);

/// One mask of a group; written `!mask`, an exclusion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupEntry {
    pub mask: Netmask,
    pub excluded: bool,
}

impl GroupEntry {
    fn parse(text: &str) -> mlua::Result<GroupEntry> {
        let (excluded, mask) = match text.trim().strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        Ok(GroupEntry {
            mask: netmask_arg(mask.trim())?,
            excluded,
        })
    }

    fn text(&self) -> String {
        let bang = if self.excluded { "!" } else { "" };
        format!("{bang}{}", self.mask.text())
    }
}

impl NetmaskGroup {
    /// `newNMG()` or `newNMG({'192.0.2.0/24', '!192.0.2.1', …})`.
    pub fn from_masks(masks: Option<Vec<String>>) -> mlua::Result<NetmaskGroup> {
        let masks = masks.unwrap_or_default();
        Ok(NetmaskGroup(
            masks
                .iter()
                .map(|m| GroupEntry::parse(m))
                .collect::<mlua::Result<_>>()?,
        ))
    }

    /// PowerDNS's rule (a longest-prefix tree): the most specific mask
    /// holding `ip` decides, so `!192.0.2.1` inside `192.0.2.0/24` excludes
    /// that one address; of two equal masks the later one counts, as the
    /// later insert overwrites the earlier.
    fn matches(&self, ip: IpAddr) -> bool {
        self.0
            .iter()
            .filter(|e| e.mask.contains(ip))
            .max_by_key(|e| e.mask.len)
            .is_some_and(|e| !e.excluded)
    }

    fn text(&self) -> String {
        let masks: Vec<String> = self.0.iter().map(GroupEntry::text).collect();
        masks.join(", ")
    }
}

impl UserData for NetmaskGroup {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("addMask", |_, this, mask: String| {
            this.0.push(GroupEntry::parse(&mask)?);
            Ok(())
        });
        m.add_method_mut("addMasks", |_, this, masks: mlua::Table| {
            // A list: the masks are the values, in order.
            for mask in masks.sequence_values::<Value>() {
                this.0.push(GroupEntry::parse(&mlua_text(&mask?)?)?);
            }
            Ok(())
        });
        m.add_method("match", |_, this, v: Value| {
            Ok(this.matches(address_arg(&v)?))
        });
        m.add_method("size", |_, this, ()| Ok(this.0.len()));
        m.add_method_mut("clear", |_, this, ()| {
            this.0.clear();
            Ok(())
        });
        m.add_method("toString", |_, this, ()| {
            Ok(format!("NetmaskGroup {}", this.text()))
        });
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("NetmaskGroup {}", this.text()))
        });
    }
}

/// A `DNSName` (`qname`, `zone`, `newDN`).
#[derive(Clone, Debug)]
pub(crate) struct DnsName(pub Name);

fn name_arg(v: &Value) -> mlua::Result<Name> {
    match v {
        Value::UserData(ud) => Ok(ud.borrow::<DnsName>()?.0.clone()),
        Value::String(s) => parse_name(&s.to_str()?),
        other => Err(mlua::Error::runtime(format!(
            "a name is needed, not a {}",
            other.type_name()
        ))),
    }
}

/// Text as an absolute name (a missing final dot is implied, as DNSName
/// does).
pub(crate) fn parse_name(text: &str) -> mlua::Result<Name> {
    Name::from_text(text, Some(&Name::root()))
        .map_err(|e| mlua::Error::runtime(format!("'{text}' is not a name: {e}")))
}

impl UserData for DnsName {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        for name in ["toString", "tostring"] {
            m.add_method(name, |_, this, ()| Ok(this.0.to_string()));
        }
        m.add_method("toStringNoDot", |_, this, ()| {
            let text = this.0.to_string();
            Ok(match text.strip_suffix('.') {
                Some(t) if !t.is_empty() => t.to_string(),
                _ => text,
            })
        });
        m.add_method("countLabels", |_, this, ()| Ok(this.0.label_count()));
        for name in ["wireLength", "wirelength"] {
            m.add_method(name, |_, this, ()| Ok(this.0.wire_len()));
        }
        m.add_method("getRawLabels", |lua, this, ()| {
            let labels = this
                .0
                .labels()
                .map(|l| lua.create_string(l))
                .collect::<mlua::Result<Vec<_>>>()?;
            lua.create_sequence_from(labels)
        });
        // Canonical order (RFC 4034 §6.1): true when this name sorts first.
        m.add_method("canonCompare", |_, this, v: Value| {
            Ok(this.0 < name_arg(&v)?)
        });
        m.add_method("makeRelative", |_, this, v: Value| {
            Ok(DnsName(relative(&this.0, &name_arg(&v)?)))
        });
        m.add_method("hash", |_, this, ()| Ok(burtle_ci(this.0.as_wire(), 0)));
        m.add_method("isPartOf", |_, this, v: Value| {
            Ok(this.0.is_subdomain_of(&name_arg(&v)?))
        });
        m.add_method("equal", |_, this, v: Value| {
            Ok(this
                .0
                .as_wire()
                .eq_ignore_ascii_case(name_arg(&v)?.as_wire()))
        });
        m.add_method_mut("chopOff", |_, this, ()| match this.0.parent() {
            Some(parent) => {
                this.0 = parent;
                Ok(true)
            }
            None => Ok(false),
        });
        m.add_method("toDNSString", |lua, this, ()| {
            lua.create_string(this.0.as_wire())
        });
        m.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.0.to_string()));
        m.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other
                .borrow::<DnsName>()
                .is_ok_and(|o| o.0.as_wire().eq_ignore_ascii_case(this.0.as_wire())))
        });
    }
}

/// The query's header (`dh`), read-only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DnsHeader {
    pub id: u16,
    pub flags: u16,
}

impl UserData for DnsHeader {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("getID", |_, this, ()| Ok(this.id));
        for (name, bit) in [
            ("getQR", 0x8000u16),
            ("getAA", 0x0400),
            ("getTC", 0x0200),
            ("getRD", 0x0100),
            ("getRA", 0x0080),
            ("getAD", 0x0020),
            ("getCD", 0x0010),
        ] {
            m.add_method(name, move |_, this, ()| Ok(this.flags & bit != 0));
        }
    }
}

/// `name:makeRelative(zone)`: the labels of `name` left of `zone` (printed,
/// as PowerDNS prints them, with a final dot: `bb.a.`); `name` itself when it
/// is not under `zone`, the root when it is `zone`.
fn relative(name: &Name, zone: &Name) -> Name {
    if !name.is_subdomain_of(zone) {
        return name.clone();
    }
    let keep = name.label_count() - zone.label_count();
    Name::from_labels(name.labels().take(keep)).unwrap_or_else(|_| Name::root())
}

/// A string or number as text (`tostring` without metamethods).
pub(crate) fn mlua_text(v: &Value) -> mlua::Result<String> {
    match v {
        Value::String(s) => Ok(s.to_str()?.to_string()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(mlua::Error::runtime(format!(
            "a string is needed, not a {}",
            other.type_name()
        ))),
    }
}

/// How an object is written when passed to a native function (see
/// `render`): a group as the `newNMG` call that makes it, the others as
/// their text.
pub(crate) fn as_native_text(ud: &AnyUserData) -> Option<String> {
    let quoted = |s: String| format!("'{s}'");
    if let Ok(g) = ud.borrow::<NetmaskGroup>() {
        // An exclusion (`'!…'`) is beyond the native newNMG, which then
        // refuses the call: an argument error, as for any bad mask.
        let masks: Vec<String> = g.0.iter().map(|m| quoted(m.text())).collect();
        return Some(format!("newNMG({{{}}})", masks.join(",")));
    }
    if let Ok(a) = ud.borrow::<ComboAddress>() {
        return Some(quoted(a.addr.to_string()));
    }
    if let Ok(n) = ud.borrow::<DnsName>() {
        return Some(quoted(n.0.to_string()));
    }
    if let Ok(m) = ud.borrow::<LuaNetmask>() {
        return Some(quoted(m.0.text()));
    }
    None
}

/// `newCAFromRaw(bytes [, port])`: 4 or 16 octets; anything else gives the
/// unspecified address, as PowerDNS does.
pub(crate) fn from_raw(raw: &[u8], port: Option<u16>) -> ComboAddress {
    let addr = match raw.len() {
        4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(raw);
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    ComboAddress {
        addr,
        port: port.unwrap_or(0),
    }
}
