//! Names in presentation format (RFC 1035 §5.1): escapes, relative names, display.

use std::fmt;

use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN, Name, NameError};

impl Name {
    /// Parses a name as written in a zone file.
    ///
    /// `\X` stands for the octet X and `\DDD` for the octet with decimal value
    /// DDD; an unescaped `.` separates labels. A name without a trailing dot
    /// is relative and completed with `origin` (`None` makes that an error).
    /// `@` is not handled here: it is zone-file syntax, not a name.
    pub fn from_text(text: &str, origin: Option<&Name>) -> Result<Name, NameError> {
        if text == "." {
            return Ok(Name::root());
        }
        if text.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        let bytes = text.as_bytes();
        let mut wire = Vec::with_capacity(bytes.len() + 2);
        let mut label_start = 0;
        wire.push(0);
        let mut i = 0;
        let mut absolute = false;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'.' => {
                    close_label(&mut wire, label_start)?;
                    if i + 1 == bytes.len() {
                        absolute = true;
                    } else {
                        label_start = wire.len();
                        wire.push(0);
                    }
                    i += 1;
                    continue;
                }
                b'\\' => {
                    let (octet, used) = parse_escape(&bytes[i + 1..])
                        .ok_or_else(|| NameError::BadEscape(text.to_string()))?;
                    wire.push(octet);
                    i += 1 + used;
                }
                _ => {
                    wire.push(b);
                    i += 1;
                }
            }
        }
        if !absolute {
            close_label(&mut wire, label_start)?;
            let origin = origin.ok_or_else(|| NameError::NoOrigin(text.to_string()))?;
            wire.extend_from_slice(origin.as_wire());
        } else {
            wire.push(0);
        }
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        Name::from_wire(&wire)
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;

    /// Parses a fully qualified name, with or without the trailing dot, as
    /// APIs and configuration spell them (`example.com` = `example.com.`).
    fn from_str(text: &str) -> Result<Name, NameError> {
        Name::from_text(text, Some(&Name::root()))
    }
}

impl Name {
    /// The presentation text without the final dot (`example.com`), as
    /// registrars and the PDM API spell names; the root prints as `.`.
    pub fn unrooted(&self) -> Unrooted<'_> {
        Unrooted(self)
    }
}

/// Display adapter of [`Name::unrooted`].
pub struct Unrooted<'a>(&'a Name);

impl fmt::Display for Unrooted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.0.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write_label(f, label)?;
        }
        Ok(())
    }
}

/// Writes one label with the RFC 1035 §5.1 escapes.
fn write_label(f: &mut fmt::Formatter<'_>, label: &[u8]) -> fmt::Result {
    for &b in label {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => write!(f, "\\{}", b as char)?,
            0x21..=0x7e => write!(f, "{}", b as char)?,
            _ => write!(f, "\\{b:03}")?,
        }
    }
    Ok(())
}

/// Writes the length octet of the label that starts at `start`.
fn close_label(wire: &mut [u8], start: usize) -> Result<(), NameError> {
    let len = wire.len() - start - 1;
    if len == 0 {
        return Err(NameError::EmptyLabel);
    }
    if len > MAX_LABEL_LEN {
        return Err(NameError::LabelTooLong);
    }
    wire[start] = len as u8;
    Ok(())
}

/// Decodes the escape after a backslash: `DDD` (0..=255) or any single
/// character. Returns the octet and how many input bytes it used.
pub(crate) fn parse_escape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        u8::try_from(value).ok().map(|v| (v, 3))
    } else {
        // A multi-byte UTF-8 character cannot be one escaped octet.
        first.is_ascii().then_some((first, 1))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            write_label(f, label)?;
            f.write_str(".")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_absolute_and_escapes() {
        let origin = Name::from_text("example.test.", None).unwrap();
        let www = Name::from_text("www", Some(&origin)).unwrap();
        assert_eq!(www.to_string(), "www.example.test.");
        let dotted = Name::from_text(r"a\.b.example.", None).unwrap();
        assert_eq!(dotted.label_count(), 2);
        assert_eq!(dotted.to_string(), r"a\.b.example.");
        let octal = Name::from_text(r"\000\255x.", None).unwrap();
        assert_eq!(octal.as_wire(), &[3, 0, 255, b'x', 0]);
        assert_eq!(octal.to_string(), r"\000\255x.");
    }

    #[test]
    fn errors() {
        assert_eq!(Name::from_text("a..b.", None), Err(NameError::EmptyLabel));
        assert!(matches!(
            Name::from_text("www", None),
            Err(NameError::NoOrigin(_))
        ));
        assert!(matches!(
            Name::from_text(r"a\256.", None),
            Err(NameError::BadEscape(_))
        ));
        let long = format!("{}.", "a".repeat(64));
        assert_eq!(Name::from_text(&long, None), Err(NameError::LabelTooLong));
        let too_long = format!("{}.", ["abcdefghi"; 26].join("."));
        assert_eq!(Name::from_text(&too_long, None), Err(NameError::TooLong));
    }

    #[test]
    fn text_round_trips_with_escapes() {
        for text in [
            ".",
            "example.com.",
            r"a\.b.example.",
            r#"\\\(\)\;\@\$\"x."#,
            r"\000\032\127\255.tld.",
            "Mixed.Case.",
        ] {
            let name = Name::from_text(text, None).unwrap();
            assert_eq!(name.to_string(), text);
            assert_eq!(Name::from_text(&name.to_string(), None).unwrap(), name);
        }
        // A plain escape of a printable octet prints unescaped.
        assert_eq!(Name::from_text(r"\a.", None).unwrap().to_string(), "a.");
    }

    #[test]
    fn fully_qualified_parse_and_unrooted_print() {
        let a: Name = "Pool.Example.com".parse().unwrap();
        let b: Name = "pool.example.com.".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Pool.Example.com.");
        assert_eq!(a.unrooted().to_string(), "Pool.Example.com");
        assert_eq!(a.to_lowercase().unrooted().to_string(), "pool.example.com");
        assert_eq!(Name::root().unrooted().to_string(), ".");
        assert_eq!("".parse::<Name>(), Err(NameError::EmptyLabel));
        assert_eq!("a..b".parse::<Name>(), Err(NameError::EmptyLabel));
    }

    #[test]
    fn limits_are_exact() {
        // 63 octets is the longest label; 255 octets the longest name.
        let label63 = "a".repeat(63);
        assert!(format!("{label63}.").parse::<Name>().is_ok());
        // Four labels of 63 and a root: 4 * 64 + 1 = 257 octets; three of
        // 63 plus one of 61 is 3 * 64 + 62 + 1 = 255.
        let max = format!("{label63}.{label63}.{label63}.{}.", "b".repeat(61));
        assert_eq!(max.parse::<Name>().unwrap().wire_len(), 255);
        let over = format!("{label63}.{label63}.{label63}.{}.", "b".repeat(62));
        assert_eq!(over.parse::<Name>(), Err(NameError::TooLong));
        let origin = Name::from_text(&format!("{label63}.{label63}.{label63}."), None).unwrap();
        assert_eq!(
            Name::from_text(&"c".repeat(63), Some(&origin)),
            Err(NameError::TooLong)
        );
    }
}
