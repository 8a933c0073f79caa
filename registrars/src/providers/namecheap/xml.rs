//! A small XML tree for Namecheap responses: elements with local names
//! (namespace prefixes dropped), attributes and text. Enough to read
//! `ApiResponse` envelopes; not a general XML library.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::RegistrarError;

/// One element.
#[derive(Debug, Default, Clone)]
pub struct Element {
    /// Local name, as written (case kept: Namecheap mixes `host`/`Host`).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Concatenated text content, unescaped and trimmed.
    pub text: String,
}

impl Element {
    /// The attribute `name`, compared case-insensitively (`HostId`/`HostID`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first child called `name` (case-insensitive).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Every child called `name` (case-insensitive).
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => s.into_owned(),
    }
}

fn element_from(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, RegistrarError> {
    let mut el = Element {
        name: local(start.name().as_ref()),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| RegistrarError::protocol(format!("XML attribute: {e}")))?;
        let key = local(attr.key.as_ref());
        if key == "xmlns" {
            continue;
        }
        let value = attr
            .unescape_value()
            .map_err(|e| RegistrarError::protocol(format!("XML attribute value: {e}")))?;
        el.attrs.push((key, value.into_owned()));
    }
    Ok(el)
}

/// Parses a document and returns its root element.
pub fn parse(text: &str) -> Result<Element, RegistrarError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| RegistrarError::protocol(format!("XML: {e}")))?;
        match event {
            Event::Start(start) => stack.push(element_from(&start)?),
            Event::Empty(start) => {
                let el = element_from(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let text = t
                        .unescape()
                        .map_err(|e| RegistrarError::protocol(format!("XML text: {e}")))?;
                    top.text.push_str(text.trim());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(String::from_utf8_lossy(&t).trim());
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(RegistrarError::protocol("XML: unbalanced end tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| RegistrarError::protocol("XML: empty document"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_error_envelope() {
        let doc = r#"<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response">
  <Errors><Error Number="1011102">API Key is invalid or API access has not been enabled</Error></Errors>
  <Warnings /><RequestedCommand /><Server>SERVER</Server>
</ApiResponse>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "ApiResponse");
        assert_eq!(root.attr("status"), Some("ERROR"));
        let err = root.child("Errors").unwrap().child("Error").unwrap();
        assert_eq!(err.attr("Number"), Some("1011102"));
        assert!(err.text.starts_with("API Key is invalid"));
    }
}
