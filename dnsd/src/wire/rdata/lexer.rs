//! Presentation-format tokens (RFC 1035 §5.1), shared by the RDATA parser and
//! the zone-file reader.
//!
//! The lexer splits text into *entries*: one logical line each, with
//! parentheses joining physical lines and `;` starting a comment. Within an
//! entry, tokens are separated by blanks; a token that starts with `"` runs
//! to the closing quote and may hold blanks. `\X` and `\DDD` escapes are
//! decoded into [`Token::bytes`] while [`Token::raw`] keeps the text as
//! written, because names must see their escapes (an escaped dot is not a
//! label separator). A `"` inside an unquoted token opens a quoted segment of
//! the same token, so `alpn="h2 x"` (RFC 9460 key=value) stays one token.
//!
//! The lexer borrows the input and allocates only for tokens that contain
//! escapes or quoted segments, because a million-record zone passes through it.

use std::borrow::Cow;

use super::RdataError;

/// One token of presentation text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    raw: &'a str,
    bytes: Cow<'a, [u8]>,
    quoted: bool,
}

impl<'a> Token<'a> {
    /// Builds a token from text as written (without surrounding quotes for a
    /// quoted token), decoding its escapes.
    pub fn new(raw: &'a str, quoted: bool) -> Result<Token<'a>, RdataError> {
        let bytes = if raw.bytes().any(|b| b == b'\\' || (!quoted && b == b'"')) {
            Cow::Owned(decode(raw, !quoted)?)
        } else {
            Cow::Borrowed(raw.as_bytes())
        };
        Ok(Token { raw, bytes, quoted })
    }

    /// The text as written, escapes intact; for a quoted token, without the
    /// surrounding quotes.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The octets the token stands for, escapes decoded and quotes removed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the token was written as a `"quoted string"`.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// True for the unquoted `\#` that starts RFC 3597 generic RDATA.
    pub fn is_generic_marker(&self) -> bool {
        !self.quoted && self.raw == "\\#"
    }
}

/// Decodes `\X` and `\DDD` escapes; with `strip_quotes`, unescaped `"` are
/// segment delimiters and vanish.
fn decode(raw: &str, strip_quotes: bool) -> Result<Vec<u8>, RdataError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let Some(&next) = bytes.get(i + 1) else {
                    return Err(RdataError::Syntax(format!(
                        "backslash at the end of {raw:?}"
                    )));
                };
                if next.is_ascii_digit() {
                    let digits = bytes
                        .get(i + 1..i + 4)
                        .filter(|d| d.iter().all(u8::is_ascii_digit));
                    let value = digits
                        .map(|d| d.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
                        .and_then(|v| u8::try_from(v).ok())
                        .ok_or_else(|| {
                            RdataError::Syntax(format!("bad \\DDD escape in {raw:?}"))
                        })?;
                    out.push(value);
                    i += 4;
                } else {
                    // The first octet of the escaped character; any UTF-8
                    // continuation octets follow through the default arm.
                    out.push(next);
                    i += 2;
                }
            }
            b'"' if strip_quotes => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// One logical line of a zone file (or of an RDATA string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line of the first token.
    pub line: u32,
    /// The physical line began with a blank: in a zone file, the owner is
    /// omitted and the previous one applies.
    pub leading_blank: bool,
    /// The tokens, parentheses and comments removed. May be empty.
    pub tokens: Vec<Token<'a>>,
}

/// A lexical error and the line it was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// 1-based line of the entry that failed.
    pub line: u32,
    /// What went wrong.
    pub error: RdataError,
}

/// Iterator over the [`Entry`]s of a text. After an error it resumes at the
/// next physical line, so one mistake costs one entry.
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> Lexer<'a> {
    /// Starts lexing `src` at line 1.
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            line: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        let rest = self.src.as_bytes().get(self.pos..).unwrap_or_default();
        self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    }

    /// Error recovery: drop the rest of the physical line.
    fn fail(&mut self, entry_line: u32, reason: String) -> LexError {
        self.skip_comment();
        LexError {
            line: entry_line,
            error: RdataError::Syntax(reason),
        }
    }

    fn entry(&mut self, leading_blank: bool) -> Result<Entry<'a>, LexError> {
        let mut entry = Entry {
            line: self.line,
            leading_blank,
            tokens: Vec::new(),
        };
        let mut depth = 0u32;
        loop {
            self.skip_blanks();
            match self.peek() {
                None if depth > 0 => {
                    return Err(LexError {
                        line: entry.line,
                        error: RdataError::Syntax("unclosed parenthesis".into()),
                    });
                }
                None => return Ok(entry),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    if depth == 0 {
                        return Ok(entry);
                    }
                }
                Some(b';') => self.skip_comment(),
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') => {
                    if depth == 0 {
                        return Err(self.fail(entry.line, "unmatched closing parenthesis".into()));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b'"') => {
                    let token = self.quoted(entry.line)?;
                    entry.tokens.push(token);
                }
                Some(_) => {
                    let token = self.unquoted(entry.line)?;
                    entry.tokens.push(token);
                }
            }
        }
    }

    /// Scans to the closing quote; `self.pos` is just after the opening one.
    /// Returns the index of the closing quote.
    fn scan_quoted(&mut self, entry_line: u32) -> Result<usize, LexError> {
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(self.pos) {
                None => return Err(self.fail(entry_line, "unterminated quoted string".into())),
                Some(b'\n') => {
                    return Err(self.fail(entry_line, "unterminated quoted string".into()));
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(self.pos - 1);
                }
                Some(b'\\') => {
                    if bytes.get(self.pos + 1) == Some(&b'\n') {
                        self.line += 1;
                    }
                    // A backslash as the last byte must not step past the end.
                    self.pos = (self.pos + 2).min(bytes.len());
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn quoted(&mut self, entry_line: u32) -> Result<Token<'a>, LexError> {
        self.pos += 1;
        let start = self.pos;
        let end = self.scan_quoted(entry_line)?;
        self.token(&self.src[start..end], true, entry_line)
    }

    fn unquoted(&mut self, entry_line: u32) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' => break,
                b'\\' => {
                    match bytes.get(self.pos + 1) {
                        None => {
                            return Err(
                                self.fail(entry_line, "backslash at the end of the input".into())
                            );
                        }
                        Some(b'\n') => self.line += 1,
                        Some(_) => {}
                    }
                    self.pos += 2;
                }
                b'"' => {
                    self.pos += 1;
                    self.scan_quoted(entry_line)?;
                }
                _ => self.pos += 1,
            }
        }
        // Stops only at ASCII delimiters or the end, so `pos` is a char boundary.
        self.token(&self.src[start..self.pos], false, entry_line)
    }

    fn token(
        &mut self,
        raw: &'a str,
        quoted: bool,
        entry_line: u32,
    ) -> Result<Token<'a>, LexError> {
        Token::new(raw, quoted).map_err(|error| {
            self.skip_comment();
            LexError {
                line: entry_line,
                error,
            }
        })
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<Entry<'a>, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line_start = self.pos;
            self.skip_blanks();
            let leading_blank = self.pos > line_start;
            match self.peek()? {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                b';' => self.skip_comment(),
                _ => return Some(self.entry(leading_blank)),
            }
        }
    }
}

/// All tokens of `text`, line structure ignored: the form RDATA takes when it
/// arrives as one string (PowerDNS API `content`).
pub fn tokenize(text: &str) -> Result<Vec<Token<'_>>, RdataError> {
    let mut tokens = Vec::new();
    for entry in Lexer::new(text) {
        tokens.extend(entry.map_err(|e| e.error)?.tokens);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<Result<Entry<'_>, LexError>> {
        Lexer::new(text).collect()
    }

    fn raws(entry: &Entry<'_>) -> Vec<String> {
        entry.tokens.iter().map(|t| t.raw().to_string()).collect()
    }

    #[test]
    fn splits_lines_and_marks_leading_blanks() {
        let all = entries("www A 1.2.3.4\n\n  ; only a comment\n\tA 5.6.7.8 ; trailing\n");
        assert_eq!(all.len(), 2);
        let first = all[0].as_ref().unwrap();
        assert_eq!((first.line, first.leading_blank), (1, false));
        assert_eq!(raws(first), ["www", "A", "1.2.3.4"]);
        let second = all[1].as_ref().unwrap();
        assert_eq!((second.line, second.leading_blank), (4, true));
        assert_eq!(raws(second), ["A", "5.6.7.8"]);
    }

    #[test]
    fn parentheses_join_lines_and_allow_comments() {
        let all = entries("@ SOA ns host ( 1 ; serial\n 2 3 ; more\n 4 5 )\nnext A 1.1.1.1");
        let soa = all[0].as_ref().unwrap();
        assert_eq!(soa.line, 1);
        assert_eq!(
            raws(soa),
            ["@", "SOA", "ns", "host", "1", "2", "3", "4", "5"]
        );
        assert_eq!(all[1].as_ref().unwrap().line, 4);
    }

    #[test]
    fn quoted_strings_and_escapes() {
        let all = entries(r#"t TXT "a b;c" "q\"x" \065\066 "\255" e\ f"#);
        let toks = &all[0].as_ref().unwrap().tokens;
        assert!(toks[2].is_quoted());
        assert_eq!(toks[2].bytes(), b"a b;c");
        assert_eq!(toks[3].bytes(), b"q\"x");
        assert_eq!(toks[4].bytes(), b"AB");
        assert!(!toks[4].is_quoted());
        assert_eq!(toks[5].bytes(), &[255]);
        assert_eq!(toks[6].bytes(), b"e f");
        assert_eq!(toks[6].raw(), r"e\ f");
    }

    #[test]
    fn quoted_segment_inside_a_token() {
        let toks = tokenize(r#"1 . alpn="h2, h3" port=8"#).unwrap();
        assert_eq!(toks.len(), 4);
        assert_eq!(toks[2].bytes(), b"alpn=h2, h3");
        assert!(!toks[2].is_quoted());
    }

    #[test]
    fn errors_name_the_line_and_recover() {
        let all = entries("a TXT \"open\nb A 1.2.3.4\nc A ( 1\n");
        assert_eq!(all[0].as_ref().unwrap_err().line, 1);
        assert_eq!(raws(all[1].as_ref().unwrap()), ["b", "A", "1.2.3.4"]);
        let err = all[2].as_ref().unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.error.to_string(), "unclosed parenthesis");
        assert!(tokenize(r"a\256").is_err());
        assert!(tokenize(r"a\").is_err());
        assert!(tokenize("a )").is_err());
        assert!(tokenize("\"\\").is_err());
        assert!(tokenize("x\"\\").is_err());
    }

    #[test]
    fn generic_marker() {
        let toks = tokenize(r#"\# 0 "\#""#).unwrap();
        assert!(toks[0].is_generic_marker());
        assert!(!toks[2].is_generic_marker());
    }
}
