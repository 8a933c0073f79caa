//! One MMDB file and the address → [`Location`] lookup. A lookup decodes
//! straight out of the (mapped) bytes and does not allocate.

use std::fmt;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use arrayvec::ArrayString;
use maxminddb::{Mmap, Reader};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::distance::Point;
use crate::error::{Error, ErrorKind};

/// A short code from the database: an ISO 3166-1 country code (`US`) or a
/// continent code (`NA`), kept as the database spells it (MaxMind uses upper
/// case; PowerDNS lower-cases when it compares or prints).
///
/// Invariant: 1..=8 bytes, never `--` (PowerDNS's "unknown" marker).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(ArrayString<8>);

impl Code {
    /// A code from database text; `None` for empty, `--`, or longer than 8
    /// bytes (which is no country or continent code).
    pub fn new(text: &str) -> Option<Code> {
        if text.is_empty() || text == "--" {
            return None;
        }
        ArrayString::from(text).ok().map(Code)
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Case-insensitive comparison, as PowerDNS's `country()`/`continent()` do.
    pub fn eq_ignore_ascii_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }

    /// The code in lower case (PowerDNS's `countryCode()` form).
    pub fn to_ascii_lowercase(&self) -> Code {
        let mut s = self.0;
        s.make_ascii_lowercase();
        Code(s)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the databases know about one address. Every field is `None` when no
/// database has it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Location {
    /// `location.latitude`, degrees.
    pub lat: Option<f64>,
    /// `location.longitude`, degrees.
    pub lon: Option<f64>,
    /// `location.accuracy_radius`, kilometres.
    pub accuracy_radius: Option<u16>,
    /// `country.iso_code`.
    pub country: Option<Code>,
    /// `continent.code`.
    pub continent: Option<Code>,
    /// `subdivisions[0].iso_code` (a region of the country, e.g. `CA`).
    pub region: Option<Code>,
    /// `autonomous_system_number` (a string value like `AS3320` is accepted,
    /// with the `AS` prefix stripped, as PowerDNS does).
    pub asn: Option<u32>,
}

impl Location {
    /// Latitude and longitude when both are present.
    pub fn point(&self) -> Option<Point> {
        Some(Point::new(self.lat?, self.lon?))
    }

    /// The point as PowerDNS's geoip backend sees it: present only when
    /// latitude, longitude **and** accuracy radius all are (spec §9.1). Callers
    /// that follow PowerDNS treat `None` as (0, 0).
    pub fn pdns_point(&self) -> Option<Point> {
        self.accuracy_radius?;
        self.point()
    }

    /// True when no field is known.
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }

    /// Fills the fields still `None` from `other` (a later database). The
    /// three location fields move as one group, from the first database that
    /// has latitude and longitude.
    pub(crate) fn fill_from(&mut self, other: &Location) {
        if self.lat.is_none() && self.lon.is_none() && other.point().is_some() {
            self.lat = other.lat;
            self.lon = other.lon;
            self.accuracy_radius = other.accuracy_radius;
        }
        self.country = self.country.or(other.country);
        self.continent = self.continent.or(other.continent);
        self.region = self.region.or(other.region);
        self.asn = self.asn.or(other.asn);
    }
}

/// The bytes behind a reader: a mapping of the file, or owned bytes.
pub(crate) enum Source {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Source {
    fn as_ref(&self) -> &[u8] {
        match self {
            Source::Mapped(m) => m.as_ref(),
            Source::Owned(v) => v.as_slice(),
        }
    }
}

/// One opened MaxMind DB. Cheap to share (`Arc<GeoDb>`); lookups take `&self`.
pub struct GeoDb {
    reader: Reader<Source>,
    path: Option<PathBuf>,
}

impl fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoDb")
            .field("path", &self.path)
            .field("database_type", &self.database_type())
            .field("ip_version", &self.ip_version())
            .finish()
    }
}

impl GeoDb {
    /// Maps `path` and checks its metadata.
    pub fn open(path: impl AsRef<Path>) -> Result<GeoDb, Error> {
        let path = path.as_ref();
        let err = |kind| Error::new(Some(path), kind);
        let file = fs::File::open(path).map_err(|e| err(ErrorKind::Io(e)))?;
        // SAFETY: the mapping is read-only and lives as long as the reader.
        // Mapping is sound as long as nobody truncates or rewrites this inode
        // while it is mapped; the crate docs require replacing the file by
        // rename, which leaves this inode (and the mapping) untouched.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| err(ErrorKind::Io(e)))?;
        let reader =
            Reader::from_source(Source::Mapped(map)).map_err(|e| err(ErrorKind::Format(e)))?;
        Ok(GeoDb {
            reader,
            path: Some(path.to_path_buf()),
        })
    }

    /// A database from bytes in memory (tests, embedded data).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, Error> {
        let reader = Reader::from_source(Source::Owned(bytes))
            .map_err(|e| Error::new(None, ErrorKind::Format(e)))?;
        Ok(GeoDb { reader, path: None })
    }

    /// The file this database was opened from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The metadata's `database_type`, e.g. `GeoIP2-City`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// 4 for an IPv4-only database, 6 for one that holds IPv6 (and IPv4).
    pub fn ip_version(&self) -> u16 {
        self.reader.metadata().ip_version
    }

    /// Everything this database knows about `addr`. IPv4-mapped IPv6
    /// addresses (`::ffff:a.b.c.d`) are looked up as IPv4; an IPv6 address in
    /// an IPv4-only database, and an address in no network, give an empty
    /// [`Location`]. An error means the record exists but is malformed.
    pub fn lookup(&self, addr: IpAddr) -> Result<Location, Error> {
        let addr = addr.to_canonical();
        if addr.is_ipv6() && self.ip_version() == 4 {
            return Ok(Location::default());
        }
        let decode_err = |source| Error::new(self.path(), ErrorKind::Decode { addr, source });
        let found = self.reader.lookup(addr).map_err(decode_err)?;
        let Some(raw) = found.decode::<RawRecord<'_>>().map_err(decode_err)? else {
            return Ok(Location::default());
        };
        let mut loc = Location {
            country: raw.country.and_then(|c| c.iso_code).and_then(Code::new),
            continent: raw.continent.and_then(|c| c.code).and_then(Code::new),
            region: raw
                .subdivisions
                .and_then(|s| s.into_iter().next())
                .and_then(|s| s.iso_code)
                .and_then(Code::new),
            asn: raw.autonomous_system_number.and_then(|a| a.0),
            ..Location::default()
        };
        if let Some(l) = raw.location
            && let (Some(lat), Some(lon)) = (l.latitude, l.longitude)
        {
            loc.lat = Some(lat);
            loc.lon = Some(lon);
            loc.accuracy_radius = l.accuracy_radius;
        }
        Ok(loc)
    }
}

// ----------- the record shape we decode ----------------------------------
// Only the fields we need; serde skips every other key without decoding it.

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow, default)]
    country: Option<RawCountry<'a>>,
    #[serde(borrow, default)]
    continent: Option<RawContinent<'a>>,
    #[serde(borrow, default)]
    subdivisions: Option<Vec<RawSubdivision<'a>>>,
    #[serde(default)]
    location: Option<RawLocation>,
    #[serde(default)]
    autonomous_system_number: Option<RawAsn>,
}

#[derive(Deserialize)]
struct RawCountry<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct RawSubdivision<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct RawContinent<'a> {
    #[serde(borrow, default)]
    code: Option<&'a str>,
}

#[derive(Deserialize)]
struct RawLocation {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    accuracy_radius: Option<u16>,
}

/// An AS number stored as an integer (MaxMind) or as text (`"AS3320"`,
/// `"3320"`); text that is no number decodes to `None`.
struct RawAsn(Option<u32>);

impl<'de> Deserialize<'de> for RawAsn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AsnVisitor;
        impl Visitor<'_> for AsnVisitor {
            type Value = RawAsn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawAsn, E> {
                Ok(RawAsn(u32::try_from(v).ok()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawAsn, E> {
                Ok(RawAsn(u32::try_from(v).ok()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAsn, E> {
                let t = v.trim();
                let t = if t.len() >= 2 && t[..2].eq_ignore_ascii_case("as") {
                    &t[2..]
                } else {
                    t
                };
                Ok(RawAsn(t.parse().ok()))
            }
        }
        d.deserialize_any(AsnVisitor)
    }
}
