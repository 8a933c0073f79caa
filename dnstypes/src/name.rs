//! Domain names in uncompressed wire format.
//!
//! A [`Name`] owns its wire bytes (length-prefixed labels ending in the root
//! label) with the case as written. Equality, ordering and hashing ignore ASCII
//! case (RFC 4343), so names can be compared directly; code that needs a
//! canonical key uses [`Name::to_lowercase`].
//!
//! The free functions [`wire_name_len`] and [`wire_is_subdomain`] work on
//! borrowed wire bytes, so dnsd's query path checks and compares names in
//! its buffers without building a `Name` (no allocation per query).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// Longest name in wire format (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why bytes or text are not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is longer than 255 octets")]
    TooLong,
    #[error("label is longer than 63 octets")]
    LabelTooLong,
    #[error("empty label in name")]
    EmptyLabel,
    #[error("name is truncated")]
    Truncated,
    #[error("compression pointers or extended label types are not allowed here")]
    BadLabelType,
    #[error("bad escape sequence in name: {0}")]
    BadEscape(String),
    #[error("relative name {0:?} with no origin to complete it")]
    NoOrigin(String),
}

/// A fully qualified domain name, stored as uncompressed wire bytes.
///
/// Invariant: the bytes are a sequence of labels of 1..=63 octets each,
/// terminated by the zero-length root label, 255 octets at most.
#[derive(Clone)]
pub struct Name(Box<[u8]>);

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name(Box::new([0u8]))
    }

    /// Reads an uncompressed name that must fill `bytes` exactly.
    pub fn from_wire(bytes: &[u8]) -> Result<Name, NameError> {
        let len = wire_name_len(bytes)?;
        if len != bytes.len() {
            return Err(NameError::Truncated);
        }
        Ok(Name(bytes.into()))
    }

    /// Builds a name from labels (without length octets), most specific first.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Name, NameError> {
        let mut wire = Vec::with_capacity(32);
        for label in labels {
            if label.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        Ok(Name(wire.into_boxed_slice()))
    }

    /// The wire bytes, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.0
    }

    /// Length of the wire form in octets.
    pub fn wire_len(&self) -> usize {
        self.0.len()
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// Iterates over the labels, most specific first, root excluded.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.0 }
    }

    /// Number of labels, root excluded.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The same name with ASCII letters lowered.
    pub fn to_lowercase(&self) -> Name {
        Name(self.0.to_ascii_lowercase().into_boxed_slice())
    }

    /// The name with its first label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.0[0] as usize;
        Some(Name(self.0[skip..].into()))
    }

    /// True when `self` equals `ancestor` or lies below it (case-insensitive).
    pub fn is_subdomain_of(&self, ancestor: &Name) -> bool {
        wire_is_subdomain(&self.0, &ancestor.0)
    }

    /// True when `self` lies strictly below `ancestor` (case-insensitive).
    pub fn is_strict_subdomain_of(&self, ancestor: &Name) -> bool {
        self.0.len() > ancestor.0.len() && self.is_subdomain_of(ancestor)
    }

    /// `label.self`, e.g. `*` prepended to make a wildcard owner.
    pub fn prepend_label(&self, label: &[u8]) -> Result<Name, NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        let mut wire = Vec::with_capacity(1 + label.len() + self.0.len());
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
        wire.extend_from_slice(&self.0);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        Ok(Name(wire.into_boxed_slice()))
    }

    /// True when the first label is the single octet `*` (RFC 4592).
    pub fn is_wildcard(&self) -> bool {
        self.0.len() >= 2 && self.0[0] == 1 && self.0[1] == b'*'
    }
}

/// Iterator over a name's labels; see [`Name::labels`].
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.rest.first()? as usize;
        if len == 0 {
            return None;
        }
        let label = &self.rest[1..1 + len];
        self.rest = &self.rest[1 + len..];
        Some(label)
    }
}

/// Length of the uncompressed wire name at the start of `bytes`, validated.
pub fn wire_name_len(bytes: &[u8]) -> Result<usize, NameError> {
    let mut pos = 0;
    loop {
        let len = *bytes.get(pos).ok_or(NameError::Truncated)? as usize;
        if len & 0xC0 != 0 {
            return Err(NameError::BadLabelType);
        }
        pos += 1 + len;
        if pos > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        if len == 0 {
            return Ok(pos);
        }
        if pos > bytes.len() {
            return Err(NameError::Truncated);
        }
    }
}

/// Case-insensitive "is `name` at or below `ancestor`" on valid wire names.
pub fn wire_is_subdomain(name: &[u8], ancestor: &[u8]) -> bool {
    if ancestor.len() > name.len() {
        return false;
    }
    let mut pos = 0;
    // Walk label starts until the remaining suffix has the ancestor's length;
    // only a label boundary may start the comparison.
    while name.len() - pos > ancestor.len() {
        pos += 1 + name[pos] as usize;
    }
    name.len() - pos == ancestor.len() && name[pos..].eq_ignore_ascii_case(ancestor)
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.iter() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    /// Canonical DNS order (RFC 4034 §6.1): compare labels from the root,
    /// each as lowercase octets.
    fn cmp(&self, other: &Name) -> Ordering {
        let a: Vec<&[u8]> = self.labels().collect();
        let b: Vec<&[u8]> = other.labels().collect();
        for (la, lb) in a.iter().rev().zip(b.iter().rev()) {
            let ord = la
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(lb.iter().map(u8::to_ascii_lowercase));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.len().cmp(&b.len())
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(labels: &[&str]) -> Name {
        Name::from_labels(labels.iter().map(|l| l.as_bytes())).unwrap()
    }

    #[test]
    fn subdomain_respects_label_boundaries() {
        let zone = n(&["example", "test"]);
        assert!(n(&["www", "Example", "TEST"]).is_subdomain_of(&zone));
        assert!(zone.is_subdomain_of(&zone));
        assert!(!n(&["www", "xexample", "test"]).is_subdomain_of(&zone));
        assert!(!n(&["test"]).is_subdomain_of(&zone));
        assert!(zone.is_subdomain_of(&Name::root()));
    }

    #[test]
    fn strict_subdomain_and_join() {
        let zone = n(&["pool", "test"]);
        let child = zone.prepend_label(b"Omantel").unwrap();
        assert_eq!(child, n(&["omantel", "POOL", "test"]));
        assert_eq!(child.as_wire()[1], b'O', "case is preserved");
        assert!(child.is_strict_subdomain_of(&zone));
        assert!(!zone.is_strict_subdomain_of(&zone));
        assert!(!n(&["apool", "test"]).is_strict_subdomain_of(&zone));
        assert_eq!(child.parent(), Some(zone.clone()));
        assert_eq!(
            zone.prepend_label(&[b'a'; 64]),
            Err(NameError::LabelTooLong)
        );
        assert_eq!(zone.prepend_label(b""), Err(NameError::EmptyLabel));
    }

    #[test]
    fn equality_and_hash_ignore_case() {
        use std::collections::HashSet;
        let mut set = HashSet::new();
        set.insert(n(&["WWW", "example"]));
        assert!(set.contains(&n(&["www", "EXAMPLE"])));
    }

    #[test]
    fn canonical_order_per_rfc4034() {
        // The example list from RFC 4034 §6.1, in order.
        let names = [
            n(&["example"]),
            n(&["a", "example"]),
            n(&["yljkjljk", "a", "example"]),
            n(&["Z", "a", "example"]),
            n(&["zABC", "a", "EXAMPLE"]),
            n(&["z", "example"]),
            n(&["\u{1}", "z", "example"]),
            n(&["*", "z", "example"]),
        ];
        for pair in names.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn rejects_bad_wire() {
        assert_eq!(Name::from_wire(&[3, b'a', b'b']), Err(NameError::Truncated));
        assert_eq!(Name::from_wire(&[0xC0, 0]), Err(NameError::BadLabelType));
        let long = [b'a'; 64];
        assert_eq!(Name::from_labels([&long[..]]), Err(NameError::LabelTooLong));
    }
}
