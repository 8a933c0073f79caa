//! Reads RFC 1035 master-file text into records: directives (`$ORIGIN`,
//! `$TTL`, `$INCLUDE`), owner/TTL/class defaulting, and RDATA through
//! `wire::rdata`. No zone rules are checked here; see `validate`.
//!
//! Errors are collected per entry (one logical line) so a file reports all
//! its mistakes at once, up to [`MAX_ERRORS`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Includes, LoadError, read_zone_text};
use crate::wire::rdata::{self, Entry, Lexer, Token, parse_ttl};
use crate::wire::{Name, RType};
use crate::zone::{Location, Record};

/// Stop collecting after this many errors: past that, the file is likely
/// not a zone file at all and more lines would only add noise.
pub const MAX_ERRORS: usize = 100;
/// Deepest `$INCLUDE` nesting accepted.
pub const MAX_INCLUDE_DEPTH: usize = 10;

const CLASS_IN: u16 = 1;

/// State that carries from one entry to the next within a file.
#[derive(Clone)]
struct FileState {
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
}

/// Accumulates records and errors over a file and its includes.
pub(crate) struct Parser {
    pub(crate) records: Vec<Record>,
    pub(crate) errors: Vec<LoadError>,
    /// Canonical paths of the files being read, outermost first.
    include_stack: Vec<PathBuf>,
    includes: Includes,
}

impl Parser {
    pub(crate) fn new(includes: Includes) -> Parser {
        Parser {
            records: Vec::new(),
            errors: Vec::new(),
            include_stack: Vec::new(),
            includes,
        }
    }

    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    /// Parses one file's text with `origin` as the initial `$ORIGIN`.
    pub(crate) fn parse_file_text(&mut self, origin: &Name, text: &str, file: &Path) {
        let state = FileState {
            origin: origin.clone(),
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
        };
        self.include_stack.push(canonical(file));
        self.parse_text(text, Arc::new(file.to_path_buf()), state);
        self.include_stack.pop();
    }

    fn parse_text(&mut self, text: &str, file: Arc<PathBuf>, mut state: FileState) {
        for item in Lexer::new(text) {
            if self.full() {
                return;
            }
            let entry = match item {
                Ok(entry) => entry,
                Err(e) => {
                    self.error(&file, e.line, e.error.to_string());
                    continue;
                }
            };
            if entry.tokens.is_empty() {
                continue;
            }
            let directive = !entry.leading_blank
                && !entry.tokens[0].is_quoted()
                && entry.tokens[0].raw().starts_with('$');
            let result = if directive {
                self.directive(&entry, &mut state, &file)
            } else {
                self.record(&entry, &mut state, &file)
            };
            if let Err(reason) = result {
                self.error(&file, entry.line, reason);
            }
        }
    }

    fn error(&mut self, file: &Arc<PathBuf>, line: u32, reason: String) {
        if !self.full() {
            self.errors.push(LoadError::new(
                Some(Location {
                    file: file.clone(),
                    line,
                }),
                reason,
            ));
        }
    }

    fn directive(
        &mut self,
        entry: &Entry<'_>,
        state: &mut FileState,
        file: &Arc<PathBuf>,
    ) -> Result<(), String> {
        let name = entry.tokens[0].raw();
        let args = &entry.tokens[1..];
        if name.eq_ignore_ascii_case("$ORIGIN") {
            let [arg] = args else {
                return Err("$ORIGIN takes exactly one domain name".into());
            };
            state.origin = name_token(arg, &state.origin)?;
        } else if name.eq_ignore_ascii_case("$TTL") {
            let [arg] = args else {
                return Err("$TTL takes exactly one TTL".into());
            };
            let ttl = parse_ttl(arg.raw()).map_err(|e| format!("$TTL: {e}"))?;
            state.default_ttl = Some(ttl);
        } else if name.eq_ignore_ascii_case("$INCLUDE") {
            self.include(args, state, file)?;
        } else if name.eq_ignore_ascii_case("$GENERATE") {
            return Err("$GENERATE is not supported; expand the records in the file".into());
        } else {
            return Err(format!("unknown directive {name}"));
        }
        Ok(())
    }

    fn include(
        &mut self,
        args: &[Token<'_>],
        state: &FileState,
        file: &Arc<PathBuf>,
    ) -> Result<(), String> {
        if self.includes == Includes::Refused {
            return Err(
                "$INCLUDE is not allowed here: zone text sent through the API \
                 cannot read files"
                    .into(),
            );
        }
        let (path_token, origin) = match args {
            [path] => (path, state.origin.clone()),
            [path, origin] => (path, name_token(origin, &state.origin)?),
            _ => return Err("$INCLUDE takes a file name and an optional origin".into()),
        };
        let path_text = String::from_utf8_lossy(path_token.bytes()).into_owned();
        let mut path = PathBuf::from(&path_text);
        if path.is_relative()
            && let Some(dir) = file.parent()
        {
            path = dir.join(path);
        }
        if self.include_stack.len() > MAX_INCLUDE_DEPTH {
            return Err(format!(
                "$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep"
            ));
        }
        let key = canonical(&path);
        if self.include_stack.contains(&key) {
            return Err(format!(
                "$INCLUDE loop: {} is already being read",
                path.display()
            ));
        }
        let text = read_zone_text(&path)?;
        let included = FileState {
            origin,
            last_owner: None,
            ..state.clone()
        };
        self.include_stack.push(key);
        self.parse_text(&text, Arc::new(path), included);
        self.include_stack.pop();
        Ok(())
    }

    fn record(
        &mut self,
        entry: &Entry<'_>,
        state: &mut FileState,
        file: &Arc<PathBuf>,
    ) -> Result<(), String> {
        let mut toks = &entry.tokens[..];
        let owner = if entry.leading_blank {
            state.last_owner.clone().ok_or(
                "line starts with a blank (same owner as before) but there is no previous owner",
            )?
        } else {
            let owner = name_token(&toks[0], &state.origin)?;
            toks = &toks[1..];
            owner
        };
        state.last_owner = Some(owner.clone());

        let (mut ttl, mut class) = (None, None);
        for _ in 0..2 {
            let Some(token) = toks.first() else { break };
            let raw = token.raw();
            if ttl.is_none() && !token.is_quoted() && raw.starts_with(|c: char| c.is_ascii_digit())
            {
                ttl = Some(parse_ttl(raw).map_err(|e| e.to_string())?);
            } else if class.is_none()
                && !token.is_quoted()
                && let Some(c) = class_from_text(raw)
            {
                class = Some(c);
            } else {
                break;
            }
            toks = &toks[1..];
        }

        let type_token = toks.first().ok_or("missing record type")?;
        let rtype = RType::from_text(type_token.raw())
            .filter(|_| !type_token.is_quoted())
            .ok_or_else(|| format!("unknown record type {:?}", type_token.raw()))?;
        if rtype.is_meta() {
            return Err(format!(
                "{rtype} is not a record type that can be stored in a zone"
            ));
        }
        if let Some(c) = class.filter(|&c| c != CLASS_IN) {
            return Err(format!("class {} is not supported; only IN", class_text(c)));
        }
        let ttl = match ttl {
            Some(ttl) => {
                state.last_ttl = Some(ttl);
                ttl
            }
            None => state
                .default_ttl
                .or(state.last_ttl)
                .ok_or("no TTL: give the record a TTL or set $TTL")?,
        };
        let rdata = rdata::parse_text(rtype, &toks[1..], &state.origin)
            .map_err(|e| format!("invalid {rtype} record: {e}"))?;
        self.records.push(Record {
            owner,
            rtype,
            class: CLASS_IN,
            ttl,
            rdata: rdata.into_boxed_slice(),
            location: Some(Location {
                file: file.clone(),
                line: entry.line,
            }),
        });
        Ok(())
    }
}

/// A name as an owner or directive argument: `@` is the origin.
fn name_token(token: &Token<'_>, origin: &Name) -> Result<Name, String> {
    if token.is_quoted() {
        return Err(format!("domain name {:?} must not be quoted", token.raw()));
    }
    if token.raw() == "@" {
        return Ok(origin.clone());
    }
    Name::from_text(token.raw(), Some(origin))
        .map_err(|e| format!("bad domain name {:?}: {e}", token.raw()))
}

/// Class mnemonics (RFC 1035 §3.2.4) and the RFC 3597 `CLASSnnn` form.
fn class_from_text(text: &str) -> Option<u16> {
    const CLASSES: [(&str, u16); 4] = [("IN", 1), ("CS", 2), ("CH", 3), ("HS", 4)];
    if let Some((_, code)) = CLASSES
        .iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
    {
        return Some(*code);
    }
    let digits = text
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("CLASS"))
        .map(|_| &text[5..])?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn class_text(class: u16) -> String {
    match class {
        2 => "CS".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        _ => format!("CLASS{class}"),
    }
}

/// The path used to recognise a file already being read.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
